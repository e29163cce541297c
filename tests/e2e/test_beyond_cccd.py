"""The chip ID card (CCCD) at the gate: the parser in cccd.js run in Chromium on cards built here
(no real person's data), and a visitor recorded from one scan by the handheld scanner and by the
camera, with only the kept fields sent."""

from __future__ import annotations

import mimetypes

import pytest
from sqlalchemy import select

from tests.e2e.harness import CHROMIUM_FLAGS, PWA_DIR, chromium_path, stored_events, wait_until
from tests.e2e.test_gate_app import DRAIN_TIMEOUT, badge_video, enrolled

ORIGIN = "http://gate.test"
NAME = "Lò Thị Ánh Dương"
ADDRESS = "Bản Nà Khum, Xã Mường Tè, Huyện Mường Tè, Tỉnh Lai Châu"


def card(*fields: str) -> str:
    return "|".join(fields)


FULL = card("001185005678", "123456789", NAME, "02031985", "Nữ", ADDRESS, "15082021")


@pytest.fixture(scope="module")
def module_page(playwright):
    """A page whose origin serves pwa/ from disk, to import the app's pure modules."""
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
    page = browser.new_page()

    def serve(route):
        path = route.request.url.removeprefix(ORIGIN)
        if path.startswith("/app/"):
            file = PWA_DIR / path.removeprefix("/app/")
            route.fulfill(
                body=file.read_bytes(),
                content_type=mimetypes.guess_type(file.name)[0] or "text/javascript",
            )
        else:
            route.fulfill(body="<!doctype html><title>cccd</title>", content_type="text/html")

    page.route(f"{ORIGIN}/**", serve)
    page.goto(f"{ORIGIN}/")
    yield page
    browser.close()


def parse(page, text: str) -> dict:
    return page.evaluate("async (text) => (await import('/app/js/cccd.js')).parseCccd(text)", text)


def test_a_well_formed_card_gives_every_field(module_page):
    parsed = parse(module_page, FULL)
    assert parsed == {
        "ok": True,
        "number": "001185005678",
        "last4": "5678",
        "old_number": "123456789",
        "name": NAME,
        "birth_date": "1985-03-02",
        "sex": "Nữ",
        "address": ADDRESS,
        "province": "Lai Châu",
        "issue_date": "2021-08-15",
        "missing": [],
        "invalid": [],
    }
    note = module_page.evaluate(
        """async (text) => {
            const cccd = await import('/app/js/cccd.js');
            return cccd.cardNote(cccd.parseCccd(text));
        }""",
        FULL,
    )
    assert note == "CCCD …5678 · 02/03/1985 · Lai Châu"


def test_a_card_without_an_old_number_or_with_fewer_fields_says_what_is_missing(module_page):
    # Cards of people who never had the 9-digit ID, and shorter codes of newer cards.
    no_old = parse(
        module_page,
        card(
            "079203001234",
            "",
            "Trần Văn Bé",
            "01012003",
            "Nam",
            "Thành phố Hồ Chí Minh",
            "01072024",
        ),
    )
    assert no_old["ok"]
    assert no_old["missing"] == []
    assert "old_number" not in no_old
    assert no_old["province"] == "Hồ Chí Minh"
    short = parse(module_page, card("079203001234", "", "Trần Văn Bé", "01012003"))
    assert short["ok"]
    assert short["missing"] == ["sex", "address", "issue_date"]
    extra = parse(module_page, FULL + "|thêm|nữa")
    assert extra["ok"]
    assert extra["name"] == NAME
    assert extra["missing"] == []


@pytest.mark.parametrize(
    ("text", "ok", "invalid", "missing"),
    [
        (
            card("00118500567", "", NAME, "02031985", "Nữ", ADDRESS, "15082021"),
            False,
            ["number"],
            [],
        ),
        (
            card("001185005678", "12345", NAME, "31021985", "Nữ", ADDRESS, "2021"),
            True,
            ["old_number", "birth_date", "issue_date"],
            [],
        ),
        (
            card("001185005678", "", "N9uyễn 123", "02031985"),
            False,
            ["name"],
            ["sex", "address", "issue_date"],
        ),
        (
            card("001185005678", ""),
            False,
            [],
            ["name", "birth_date", "sex", "address", "issue_date"],
        ),
        ("001185005678|", False, [], ["name", "birth_date", "sex", "address", "issue_date"]),
    ],
)
def test_a_broken_card_is_read_as_far_as_it_goes(module_page, text, ok, invalid, missing):
    parsed = parse(module_page, text)
    assert parsed["ok"] is ok
    assert parsed["invalid"] == invalid
    assert parsed["missing"] == missing


def test_the_note_holds_only_what_the_enterprise_keeps(module_page):
    notes = module_page.evaluate(
        """async (text) => {
            const cccd = await import('/app/js/cccd.js');
            const card = cccd.parseCccd(text);
            const choices = [['last4'], ['province', 'birth_date'], []];
            return choices.map((kept) => cccd.cardNote(card, kept));
        }""",
        FULL,
    )
    assert notes == ["CCCD …5678", "CCCD · 02/03/1985 · Lai Châu", "CCCD"]


def test_only_card_shaped_codes_are_taken_for_a_card(module_page):
    looks = module_page.evaluate(
        """async (texts) => {
            const { looksLikeCccd } = await import('/app/js/cccd.js');
            return texts.map(looksLikeCccd);
        }""",
        [FULL, "001185005678|", "GL1:W:ABCDEFGHIJKLMNOP", "hello|world", "", "12|34"],
    )
    assert looks == [True, True, False, False, False, False]


def dispatch_keys(page, text: str) -> None:
    """A scanner in Unicode mode: key events for every character, then Enter, to the focus."""
    page.evaluate(
        """(text) => {
            const target = document.activeElement || document.body;
            for (const key of [...text, 'Enter']) {
                target.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
            }
        }""",
        text,
    )


def stored_notes(app) -> dict[str, str | None]:
    from server.extensions import db
    from server.models import GateEvent

    with app.app_context():
        notes = {str(row.id): row.note for row in db.session.scalars(select(GateEvent))}
        db.session.remove()
    return notes


def test_one_card_scan_fills_the_visitor_form_and_only_the_kept_fields_are_sent(site, open_tablet):
    tablet = enrolled(open_tablet, site)
    tablet.wait_waiting(0, 15)
    page = tablet.page

    page.evaluate("document.activeElement && document.activeElement.blur()")
    dispatch_keys(page, FULL)
    page.wait_for_selector("#visitor-dialog[open]")
    assert page.input_value("#visitor-form input[name=name]") == NAME
    assert page.get_attribute("#visitor-card", "data-state") == "read"
    assert "Đã đọc căn cước" in page.inner_text("#visitor-card")
    assert "CCCD …5678 · 02/03/1985 · Lai Châu" in page.inner_text("#visitor-card-kept")
    page.fill("#visitor-form input[name=organisation]", "Công ty Vận tải Bắc Nam")
    page.fill("#visitor-form input[name=purpose]", "Giao hàng")
    tablet.screenshot("22-visitor-from-id-card")
    page.click("#visitor-form button[value=in]")
    tablet.wait_saved()

    # A broken card: a clear message and the manual form, nothing recorded.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    dispatch_keys(page, card("0011850056", "", "", "3102"))
    page.wait_for_selector("#visitor-dialog[open]")
    assert page.get_attribute("#visitor-card", "data-state") == "unreadable"
    message = page.inner_text("#visitor-card-message")
    assert "Không đọc được mã căn cước" in message
    assert "số căn cước" in message
    assert page.input_value("#visitor-form input[name=name]") == ""
    tablet.screenshot("23-broken-id-card")
    # The card scanned again into the open form, focus in the name field: filled, not submitted.
    page.fill("#visitor-form input[name=phone]", "0900000000")
    page.focus("#visitor-form input[name=name]")
    dispatch_keys(page, card("001185005678", "", NAME, "02031985"))
    page.wait_for_selector("#visitor-card[data-state='partial']")
    assert page.input_value("#visitor-form input[name=name]") == NAME
    assert page.input_value("#visitor-form input[name=phone]") == "0900000000"
    assert "nơi thường trú" in page.inner_text("#visitor-card-message")
    page.click("#visitor-cancel")

    tablet.wait_waiting(0, DRAIN_TIMEOUT)
    events = stored_events(site.app)
    assert [(e["method"], e["direction"]) for e in events] == [("scanner", "in")]
    assert events[0]["visitor_details"] == {
        "name": NAME,
        "organisation": "Công ty Vận tải Bắc Nam",
        "purpose": "Giao hàng",
    }
    assert stored_notes(site.app) == {events[0]["id"]: "CCCD …5678 · 02/03/1985 · Lai Châu"}
    # Nothing else of the card went anywhere: not the full number, the address or the old ID.
    sent = str(events[0]) + str(stored_notes(site.app))
    for secret in ("001185005678", "123456789", "Mường Tè", "15082021", "Nữ"):
        assert secret not in sent


def test_the_camera_reads_a_card_into_the_visitor_form(site, open_tablet, tmp_path):
    video = badge_video(tmp_path / "card.y4m", FULL)
    tablet = enrolled(
        open_tablet,
        site,
        extra_args=(
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ),
    )
    tablet.page.click("#camera-toggle")
    tablet.page.wait_for_selector("#visitor-dialog[open]", timeout=20000)
    assert tablet.page.input_value("#visitor-form input[name=name]") == NAME
    tablet.page.click("#visitor-form button[value=out]")
    tablet.wait_saved()
    tablet.page.click("#camera-toggle")
    wait_until(lambda: stored_events(site.app), DRAIN_TIMEOUT, "the visitor event was stored")
    events = stored_events(site.app)
    assert [(e["method"], e["direction"]) for e in events] == [("camera", "out")]


def keep_of_id_cards(app, gate_id: int, kept: list[str]) -> None:
    from server.extensions import db
    from server.models import Enterprise, Gate

    with app.app_context():
        gate = db.session.get(Gate, gate_id)
        db.session.get(Enterprise, gate.enterprise_id).id_card_fields = kept
        db.session.commit()
        db.session.remove()


def test_the_tablet_keeps_what_hr_chose_for_the_enterprise(site, open_tablet):
    keep_of_id_cards(site.app, site.world.gates[0]["id"], ["last4"])
    tablet = enrolled(open_tablet, site)
    page = tablet.page

    page.evaluate("document.activeElement && document.activeElement.blur()")
    dispatch_keys(page, FULL)
    page.wait_for_selector("#visitor-dialog[open]")
    kept = page.inner_text("#visitor-card-kept")
    assert "CCCD …5678" in kept
    assert "1985" not in kept
    assert "Lai Châu" not in kept
    page.click("#visitor-form button[value=in]")
    tablet.wait_saved()

    tablet.wait_waiting(0, DRAIN_TIMEOUT)
    notes = list(stored_notes(site.app).values())
    assert notes == ["CCCD …5678"]
