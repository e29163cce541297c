"""The gate app never says more than it knows: a write that failed says "not saved", an answer
that settles nothing is a failure, and a record that may be on the server is corrected, never
changed. Chromium against a real server process."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from tests.e2e.harness import LossyProxy, enrolment_code, stored_events, wait_until
from tests.e2e.test_gate_app import DRAIN_TIMEOUT, enrolled, scanned_offline

# How long pushes are answered `200 {}`, and how many a tablet may send meanwhile: the first
# try and a few backed-off retries (2 s doubling, with jitter), never a loop.
UNSETTLED_SECONDS = 10
MOST_PUSHES_WHILE_UNSETTLED = 5


def quarantined(app) -> int:
    from server.extensions import db
    from server.models import QuarantinedEvent

    with app.app_context():
        count = db.session.scalar(select(func.count()).select_from(QuarantinedEvent))
        db.session.remove()
    return int(count or 0)


def wipes(app) -> list[tuple[int | None, int | None, int, int]]:
    """(tablet waiting, tablet last seq, server highest seq, lost at most) of each wipe report."""
    from server.extensions import db
    from server.models import DeviceWipe

    with app.app_context():
        rows = db.session.scalars(select(DeviceWipe).order_by(DeviceWipe.id)).all()
        found = [
            (w.tablet_waiting, w.tablet_last_seq, w.server_highest_seq, w.lost_at_most)
            for w in rows
        ]
        db.session.remove()
    return found


def scan_unsaved(tablet, content: str) -> None:
    tablet.page.evaluate("document.activeElement && document.activeElement.blur()")
    tablet.page.keyboard.type(content)
    tablet.page.keyboard.press("Enter")


def directions_of(app, worker_id: int) -> list[str]:
    return [e["direction"] for e in stored_events(app) if e["worker_id"] == worker_id]


def test_storage_cleared_mid_shift_says_not_saved_then_the_next_scan_is_kept(site, open_tablet):
    workers = site.world.workers
    tablet = scanned_offline(open_tablet, site, workers[:2])
    cdp = tablet.context.new_cdp_session(tablet.page)
    cdp.send(
        "Storage.clearDataForOrigin",
        {"origin": site.server.url, "storageTypes": "indexeddb"},
    )

    scan_unsaved(tablet, f"GL1:W:{workers[2]['badge']}")
    tablet.page.wait_for_selector("#feedback[data-state='failed']", timeout=10000)
    assert "CHƯA LƯU" in tablet.page.inner_text("#feedback")
    assert workers[2]["name"] not in tablet.page.inner_text("#feedback")
    tablet.page.wait_for_selector("#wiped-banner:not([hidden])", timeout=10000)
    assert "2 lượt" in tablet.page.inner_text("#wiped-text")
    tablet.screenshot("20-storage-cleared-not-saved")

    tablet.scan(f"GL1:W:{workers[2]['badge']}")
    assert workers[2]["name"] in tablet.page.inner_text("#fb-name")
    site.server.start()
    tablet.wait_waiting(0, DRAIN_TIMEOUT)
    events = stored_events(site.app)
    # The two waiting records died with the storage; the tablet went on from seq 3, so the
    # server sees seqs 1-2 as missing rather than a restart.
    assert [(e["seq"], e["worker_id"]) for e in events] == [(3, workers[2]["id"])]
    assert wipes(site.app) == [(2, 2, 0, 2)]


def test_answers_that_settle_nothing_back_off_and_release_the_push_lock(site, open_tablet):
    worker = site.world.workers[4]
    with LossyProxy(site.server.port) as proxy:
        tablet = enrolled(open_tablet, site, base_url=proxy.url)
        tablet.wait_waiting(0, 15)
        proxy.settle_nothing = True
        proxy.pushes = 0
        tablet.scan(f"GL1:W:{worker['badge']}")
        wait_until(lambda: proxy.pushes, 15, "the record was pushed")
        time.sleep(UNSETTLED_SECONDS)
        assert 1 <= proxy.pushes <= MOST_PUSHES_WHILE_UNSETTLED
        assert tablet.waiting() == 1
        assert "Ngoại tuyến" in tablet.page.inner_text("#st-link")
        tablet.page.wait_for_selector("#st-problem:has-text('thay cho máy chủ')")

        # The lock is free: the flip goes through, as a correction since a push carried it.
        tablet.page.click("#fb-flip")
        tablet.page.wait_for_selector("#fb-state:has-text('Đã ghi thêm lượt RA')", timeout=5000)
        proxy.settle_nothing = False
        tablet.page.click("#sync-now")
        tablet.wait_waiting(0, DRAIN_TIMEOUT)
    assert directions_of(site.app, worker["id"]) == ["in", "out"]


def test_flip_after_a_lost_answer_records_a_correction_the_server_keeps(site, open_tablet):
    worker = site.world.workers[6]
    with LossyProxy(site.server.port) as proxy:
        tablet = enrolled(open_tablet, site, base_url=proxy.url)
        tablet.wait_waiting(0, 15)
        proxy.drop_push_answers = 1
        tablet.scan(f"GL1:W:{worker['badge']}")
        wait_until(lambda: proxy.dropped, DRAIN_TIMEOUT, "the answer to the push was lost")
        tablet.page.click("#fb-flip")
        tablet.page.wait_for_selector("#fb-state:has-text('Đã ghi thêm lượt RA')", timeout=10000)
        tablet.screenshot("21-flip-after-lost-answer")
        tablet.wait_waiting(0, DRAIN_TIMEOUT)
    events = [e for e in stored_events(site.app) if e["worker_id"] == worker["id"]]
    assert [e["direction"] for e in events] == ["in", "out"]
    assert quarantined(site.app) == 0


def board_text(app) -> str:
    """The board's sync health page as an administrator reads it."""
    from server.extensions import db
    from tests.factories import login, make_user

    # The suite's own in-process app: it logs in without a form page, as tests/conftest.py's does.
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        admin = make_user("admin")
        client = app.test_client()
        login(client, admin)
        text = client.get("/board/").get_data(as_text=True)
        db.session.remove()
    return text


def test_all_site_data_cleared_then_the_replacement_names_it_and_the_board_states_the_loss(
    site, open_tablet
):
    workers = site.world.workers
    with LossyProxy(site.server.port) as proxy:
        old = enrolled(open_tablet, site, base_url=proxy.url)
        old_id = old.page.evaluate(
            "import('/app/js/db.js').then((db) => db.getMeta('device')).then((d) => d.device_id)"
        )
        old.wait_waiting(0, 15)
        proxy.block_pushes = True
        for worker in workers[:3]:
            old.scan(f"GL1:W:{worker['badge']}")
        old.wait_waiting(3, 10)
        # One push of one event gets through, telling the server two more wait; then the link dies.
        proxy.block_pushes = False
        proxy.max_push_events = 1
        proxy.forward_event_pushes = 1
        old.page.click("#sync-now")
        old.wait_waiting(2, DRAIN_TIMEOUT)

        cdp = old.context.new_cdp_session(old.page)
        cdp.send("Storage.clearDataForOrigin", {"origin": proxy.url, "storageTypes": "all"})
        old.reload()
        old.page.wait_for_selector("#enrol-view:not([hidden])")
        assert old.page.is_hidden("#wiped-banner")

        old.page.fill("#enrol-code", enrolment_code(site.app, site.world.gates[0]["id"]))
        old.page.click("#enrol-form button[type=submit]")
        old.page.click(f"#gate-list button:has-text('{site.world.gates[0]['name']}')")
        old.page.wait_for_selector(f"#gate-list button[data-value='{old_id}']")
        old.screenshot("22-replace-which-tablet")
        old.page.click(f"#gate-list button[data-value='{old_id}']")
        old.page.wait_for_selector("#gate-view:not([hidden])")
        proxy.forward_event_pushes = None
        proxy.max_push_events = None
        wait_until(lambda: "mất tới 2 lượt sau số thứ tự 1" in board_text(site.app), 30, "board")
    assert [e["seq"] for e in stored_events(site.app)] == [1]
