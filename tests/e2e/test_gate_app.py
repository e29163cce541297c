"""The gate app in Chromium against a real server process: offline for real, camera, lost
answers, rejections, updates, two tabs. Screenshots land in test-artifacts/screenshots/."""

from __future__ import annotations

from pathlib import Path

import qrcode
from sqlalchemy import func, select

from server.text import fold
from tests.e2e.harness import LossyProxy, bump_version, enrolment_code, stored_events, wait_until

# Longer than the longest retry delay (30 s) plus its jitter, so a drain "by itself" is awaited.
DRAIN_TIMEOUT = 90


def enrolled(open_tablet, site, base_url=None, gate=0, **kwargs):
    """A tablet enrolled at one of the two gates (picked in the dialog), its roster pulled."""
    tablet = open_tablet(base_url or site.server.url, **kwargs)
    tablet.wait_for_service_worker()
    code = enrolment_code(site.app, site.world.gates[0]["id"])
    tablet.enrol(code, gate_name=site.world.gates[gate]["name"])
    tablet.wait_for_roster(len(site.world.workers))
    return tablet


def scanned_offline(open_tablet, site, workers):
    """An enrolled tablet that scanned `workers` with the server stopped: they wait to be sent."""
    tablet = enrolled(open_tablet, site)
    tablet.wait_waiting(0, 15)
    site.server.kill()
    for worker in workers:
        tablet.scan(f"GL1:W:{worker['badge']}")
    tablet.wait_waiting(len(workers), 10)
    return tablet


def duplicate_acks(app) -> int:
    from server.extensions import db
    from server.models import SyncBatch

    with app.app_context():
        total = db.session.scalar(select(func.coalesce(func.sum(SyncBatch.duplicate), 0)))
        db.session.remove()
    return int(total)


def test_offline_capture_survives_reload_and_browser_restart_then_drains_once(site, open_tablet):
    world = site.world
    gate = world.gates[1]
    tablet = enrolled(open_tablet, site, gate=1)
    assert gate["name"] in tablet.page.inner_text("#gate-button")
    assert world.enterprise_name in tablet.page.inner_text("#enterprise-name")
    tablet.wait_waiting(0, 15)

    site.server.kill()
    tablet.reload()
    assert tablet.page.is_visible("#gate-view")

    expected = []
    for i in range(50):
        worker = world.workers[i % 40]
        # The first 40 come in; ten of them then go out, and the app proposes "out" for them.
        direction = "in" if i < 40 else "out"
        if i % 2:
            tablet.scan(f"GL1:W:{worker['badge']}")
        else:
            query = [fold(worker["name"]), worker["code"].lower(), worker["phone"][-4:]][i // 2 % 3]
            tablet.pick(query, worker["id"])
        expected.append((worker["id"], direction))
    tablet.wait_waiting(50, 10)
    assert "Ngoại tuyến" in tablet.page.inner_text("#st-link")
    tablet.screenshot("03-offline-50-waiting")
    tablet.close()

    tablet = open_tablet(site.server.url)
    tablet.wait_waiting(50, 10)
    assert "Chờ gửi: 50" in tablet.page.inner_text("#st-waiting")

    site.server.start()
    tablet.wait_waiting(0, DRAIN_TIMEOUT)
    tablet.screenshot("04-back-online-drained")

    events = stored_events(site.app)
    assert [e["seq"] for e in events] == list(range(1, 51))
    assert len({e["id"] for e in events}) == 50
    assert [(e["worker_id"], e["direction"]) for e in events] == expected
    assert {e["gate_id"] for e in events} == {gate["id"]}
    assert [e["method"] for e in events[:4]] == ["manual", "scanner", "manual", "scanner"]
    assert duplicate_acks(site.app) == 0


def badge_video(path: Path, content: str, frames: int = 10) -> Path:
    """A Y4M clip (what Chromium's fake camera plays in a loop) of a badge's QR code."""
    width, height = 640, 480
    image = qrcode.make(content, box_size=8, border=4).get_image().convert("L")
    side = min(height - 40, image.size[0])
    frame = qrcode_frame(image.resize((side, side)), width, height)
    chroma = bytes([128]) * (width * height // 4)
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + frame + chroma + chroma)
    return path


def qrcode_frame(code, width: int, height: int) -> bytes:
    from PIL import Image

    canvas = Image.new("L", (width, height), 235)
    canvas.paste(code, ((width - code.size[0]) // 2, (height - code.size[1]) // 2))
    return canvas.tobytes()


# pwa/js/scanner.js SAME_CODE_COOLDOWN_MS: a code in view is ignored for this long after it was
# last seen.
SAME_CODE_COOLDOWN_MS = 4000
# Every decode that finds a code, stamped on the page's clock: what the scanner itself saw.
STAMP_DECODES = """
window.__decodes = [];
const stamp = (found) => { if (found) window.__decodes.push(performance.now()); return found; };
let wrappedJsQR;
Object.defineProperty(window, 'jsQR', {
  configurable: true,
  get: () => wrappedJsQR,
  set: (real) => { wrappedJsQR = (...args) => stamp(real(...args)); },
});
if ('BarcodeDetector' in window) {
  const detect = window.BarcodeDetector.prototype.detect;
  window.BarcodeDetector.prototype.detect = async function (...args) {
    const codes = await detect.apply(this, args);
    stamp(codes.length ? codes : null);
    return codes;
  };
}
"""


def test_camera_logs_a_badge_held_in_view_once(site, open_tablet, tmp_path):
    worker = site.world.workers[3]
    video = badge_video(tmp_path / "badge.y4m", f"GL1:W:{worker['badge']}")
    tablet = enrolled(
        open_tablet,
        site,
        extra_args=(
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ),
    )
    tablet.page.context.add_init_script(STAMP_DECODES)
    tablet.page.reload()
    tablet.page.click("#camera-toggle")
    tablet.page.wait_for_selector("#feedback[data-state='saved']", timeout=20000)
    assert worker["name"] in tablet.page.inner_text("#fb-name")
    tablet.screenshot("05-camera-scan")
    wait_until(lambda: stored_events(site.app), DRAIN_TIMEOUT, "the camera event was stored")
    # The badge stays in front of the camera until the scanner has seen it again well past the
    # cool-down: still one record.
    tablet.page.wait_for_function(
        "() => window.__decodes.length > 1"
        f" && window.__decodes.at(-1) - window.__decodes[0] > {SAME_CODE_COOLDOWN_MS + 1000}",
        timeout=30000,
    )
    tablet.page.click("#camera-toggle")
    events = stored_events(site.app)
    stored = [(e["worker_id"], e["method"], e["direction"]) for e in events]
    assert stored == [(worker["id"], "camera", "in")]
    assert tablet.page.inner_text("#today-count") == "1"


def test_resend_after_a_lost_answer_is_counted_once(site, open_tablet):
    with LossyProxy(site.server.port) as proxy:
        tablet = enrolled(open_tablet, site, base_url=proxy.url)
        proxy.drop_push_answers = 1
        for worker in site.world.workers[:3]:
            tablet.scan(f"GL1:W:{worker['badge']}")
        tablet.wait_waiting(0, DRAIN_TIMEOUT)
    assert proxy.dropped == 1
    events = stored_events(site.app)
    assert sorted(e["worker_id"] for e in events) == sorted(w["id"] for w in site.world.workers[:3])
    assert duplicate_acks(site.app) >= 1


def test_rejected_event_needs_attention_and_does_not_block_the_rest(site, open_tablet):
    tablet = enrolled(open_tablet, site)
    tablet.wait_waiting(0, 15)
    # A record for a gate of another enterprise, which the server must refuse.
    tablet.page.evaluate(
        """async (gateId) => {
            const outbox = await import('/app/js/outbox.js');
            await outbox.capture({gateId, direction: 'in', method: 'manual',
                subject: {kind: 'text', value: 'Người lạ'}, subjectKey: 't:nguoi la',
                display: {name: 'Người lạ'}});
        }""",
        site.world.other_gate_id,
    )
    behind = site.world.workers[5:7]
    for worker in behind:
        tablet.scan(f"GL1:W:{worker['badge']}")
    tablet.wait_waiting(0, DRAIN_TIMEOUT)
    tablet.page.wait_for_selector("#st-attention:not([hidden])")
    tablet.page.click("#st-attention")
    item = tablet.page.locator("#attention-list li[data-reason='unknown_gate']")
    assert item.count() == 1
    assert "Người lạ" in item.inner_text()
    tablet.screenshot("06-needs-attention")
    events = stored_events(site.app)
    assert sorted(e["worker_id"] for e in events) == sorted(w["id"] for w in behind)
    assert all(e["seq"] in (2, 3) for e in events)


def test_new_version_keeps_waiting_events_and_they_still_sync(site, open_tablet):
    with LossyProxy(site.server.port) as proxy:
        tablet = enrolled(open_tablet, site, base_url=proxy.url)
        tablet.wait_waiting(0, 15)
        proxy.block_pushes = True
        for worker in site.world.workers[:10]:
            tablet.scan(f"GL1:W:{worker['badge']}")
        tablet.wait_waiting(10, 10)

        bump_version(site.pwa_root, "1.0.1")
        tablet.page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
        tablet.page.wait_for_selector("#update-banner:not([hidden])", timeout=30000)
        tablet.screenshot("07-update-prompt")
        with tablet.page.expect_navigation():
            tablet.page.click("#update-reload")
        tablet.page.wait_for_selector("body[data-ready='true']")
        assert "1.0.1" in tablet.page.inner_text("#st-version")
        assert tablet.page.evaluate("caches.keys()") == ["gatelog-shell-1.0.1"]
        tablet.wait_waiting(10, 10)

        proxy.block_pushes = False
        tablet.page.click("#sync-now")
        tablet.wait_waiting(0, DRAIN_TIMEOUT)
    events = stored_events(site.app)
    assert sorted(e["worker_id"] for e in events) == sorted(
        w["id"] for w in site.world.workers[:10]
    )


def test_two_tabs_never_send_the_same_event_twice(site, open_tablet):
    with LossyProxy(site.server.port) as proxy:
        tablet = enrolled(open_tablet, site, base_url=proxy.url)
        tablet.wait_waiting(0, 15)
        proxy.block_pushes = True
        second = tablet.context.new_page()
        second.goto(proxy.url + "/")
        second.wait_for_selector("body[data-ready='true']")
        for i, worker in enumerate(site.world.workers[:20]):
            page = tablet.page if i % 2 else second
            page.fill("#search", worker["code"])
            page.locator(f"#results li[data-person-id='{worker['id']}'] button.primary").click()
            page.wait_for_selector("#feedback[data-state='saved']")
            page.evaluate("document.querySelector('#feedback').dataset.state = ''")
        tablet.wait_waiting(20, 10)
        proxy.block_pushes = False
        # Both tabs are told to sync at once; the push lock lets only one send at a time.
        tablet.page.evaluate("document.querySelector('#sync-now').click()")
        second.evaluate("document.querySelector('#sync-now').click()")
        tablet.wait_waiting(0, DRAIN_TIMEOUT)
        second.wait_for_function(
            "() => document.querySelector('#st-waiting').dataset.count === '0'"
        )
    events = stored_events(site.app)
    assert len(events) == 20
    assert [e["seq"] for e in events] == list(range(1, 21))
    assert duplicate_acks(site.app) == 0


def feedback_text(tablet) -> str:
    return tablet.page.inner_text("#feedback")


def test_every_way_to_record_with_warnings_and_main_screens(site, open_tablet):
    world = site.world
    tablet = open_tablet(site.server.url)
    tablet.wait_for_service_worker()
    tablet.screenshot("01-enrol")
    tablet.page.fill("#enrol-code", enrolment_code(site.app, world.gates[0]["id"]))
    tablet.page.click("#enrol-form button[type=submit]")
    tablet.page.wait_for_selector("#gate-dialog[open]")
    tablet.screenshot("02-gate-picker")
    tablet.page.click(f"#gate-list button:has-text('{world.gates[0]['name']}')")
    tablet.wait_for_roster(len(world.workers))

    def results(query: str) -> str:
        tablet.page.fill("#search", query)
        tablet.page.wait_for_function(
            "(q) => document.querySelector('#results').dataset.query === q", arg=query
        )
        return tablet.page.inner_text("#results")

    assert "Nguyễn Văn An" in results("nguyen van a")
    assert "Đặng Văn An" in results("dang van")
    assert world.workers[12]["name"] in results(world.workers[12]["phone"][-4:])
    assert world.workers[7]["name"] in results(world.workers[7]["code"].lower())
    assert world.inactive_worker["name"] not in results("nghi viec")
    results("nguyen")
    tablet.screenshot("08-search-results")
    tablet.pick("nguyen van an", world.workers[0]["id"])

    tablet.scan(f"GL1:W:{world.inactive_worker['badge']}")
    assert "CẢNH BÁO" in feedback_text(tablet)
    assert world.inactive_worker["name"] in feedback_text(tablet)
    tablet.screenshot("09-warning-deactivated-worker")
    tablet.scan(f"GL1:V:{world.expired_pass_token}")
    assert "thẻ khách hết hạn" in feedback_text(tablet)
    tablet.scan(f"GL1:V:{world.pass_token}")
    assert "Trần Thị Khách" in feedback_text(tablet)
    tablet.scan("GL1:W:" + "A" * 20)
    assert "không có trong danh sách" in feedback_text(tablet)
    tablet.screenshot("10-unknown-badge")

    tablet.page.keyboard.type(f"{site.server.url}/c/POSTERTOKEN")
    tablet.page.keyboard.press("Enter")
    tablet.page.wait_for_selector("#feedback[data-state='notice']")

    # A chip ID card (CCCD) opens the visitor form with the name filled in; nothing is recorded.
    # Playwright types letters like "ò" as text input without key events; a scanner in Unicode
    # mode sends key events, so send those.
    tablet.page.evaluate(
        """(text) => {
            for (const key of [...text, 'Enter']) {
                document.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
            }
        }""",
        "001099012345|123456789|Lò Văn Căn|01011990|Nam|Lai Châu|01012021",
    )
    tablet.page.wait_for_selector("#visitor-dialog[open]")
    assert tablet.page.input_value("#visitor-form input[name=name]") == "Lò Văn Căn"
    tablet.page.click("#visitor-cancel")

    # Nothing in flight, so the flip below lands inside the correction window.
    tablet.wait_waiting(0, DRAIN_TIMEOUT)
    tablet.page.click("#visitor-button")
    tablet.page.fill("#visitor-form input[name=name]", "Phan Văn Khách")
    tablet.page.fill("#visitor-form input[name=phone]", "0987654321")
    tablet.page.fill("#visitor-form input[name=purpose]", "Giao hàng")
    tablet.page.fill("#visitor-form input[name=host]", "Kho")
    tablet.screenshot("11-visitor-form")
    tablet.page.click("#visitor-form button[value=in]")
    tablet.page.wait_for_selector("#feedback[data-state='saved']")
    tablet.page.click("#fb-flip")
    tablet.page.wait_for_selector("#fb-dir:has-text('RA')")
    tablet.wait_waiting(0, DRAIN_TIMEOUT)
    # Sent now: the flip keeps the record and adds a correction of the other direction.
    tablet.page.click("#fb-flip")
    tablet.page.wait_for_selector("#fb-state:has-text('Đã ghi thêm lượt VÀO')")
    tablet.wait_waiting(0, DRAIN_TIMEOUT)

    tablet.screenshot("12-today-at-this-gate")
    tablet.page.fill("#today-filter", "khach")
    assert tablet.page.locator("#today-list li").count() >= 2
    tablet.page.fill("#today-filter", "")

    events = stored_events(site.app)
    by_value = {e["subject_value"]: e for e in events}
    assert by_value[world.inactive_worker["badge"]]["flags"] == ["inactive_worker"]
    assert by_value[world.expired_pass_token]["flags"] == ["expired_pass"]
    assert by_value["A" * 20]["subject_kind"] == "unresolved"
    visitor = [e for e in events if e["subject_value"] == "Phan Văn Khách"]
    assert [e["direction"] for e in visitor] == ["out", "in"]
    assert visitor[0]["visitor_details"]["phone"] == "0987654321"
    assert visitor[0]["visitor_details"]["purpose"] == "Giao hàng"
    assert len(events) == 7

    tablet.page.click("#lang-button")
    # The status strip is redrawn by its own refresh, which may have started in Vietnamese.
    tablet.page.wait_for_selector("#st-waiting:has-text('Waiting')", timeout=10_000)
    tablet.screenshot("13-english")
    tablet.page.click("#lang-button")
    tablet.page.set_viewport_size({"width": 800, "height": 1280})
    tablet.screenshot("14-tablet-portrait")
    tablet.page.set_viewport_size({"width": 390, "height": 844})
    tablet.screenshot("15-phone-portrait", full_page=True)


CONSOLE_PATHS = ["/hr/", "/board/", "/admin/", "/auth/login", "/api/v1/sync/roster", "/c/X"]


def test_service_worker_serves_only_the_gate_app_offline(site, open_tablet):
    tablet = open_tablet(site.server.url)
    tablet.wait_for_service_worker()
    site.server.kill()
    outcome = tablet.page.evaluate(
        """async (paths) => {
            const result = {};
            for (const path of paths) {
                result[path] = await fetch(path).then((r) => r.status, () => 'network error');
            }
            return result;
        }""",
        ["/", "/manifest.webmanifest", "/app/js/main.js", *CONSOLE_PATHS],
    )
    assert outcome == {
        "/": 200,
        "/manifest.webmanifest": 200,
        "/app/js/main.js": 200,
        **dict.fromkeys(CONSOLE_PATHS, "network error"),
    }
