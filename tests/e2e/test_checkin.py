"""Self check-in on a phone-sized Chromium against a real server process, killed and restarted."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.harness import CHROMIUM_FLAGS, SCREENSHOTS, chromium_path

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "vi-VN",
    "timezone_id": "Asia/Ho_Chi_Minh",
}
VISITOR = {
    "name": "Phạm Thị Khách",
    "phone": "0977 123 456",
    "organisation": "Công ty Vận tải An Bình",
    "purpose": "Giao hàng",
    "host": "Phòng kho",
}
HR_PASSWORD = "e2e hr password"


@dataclass
class Posters:
    token: str
    poster_id: int
    question_id: int
    hr_username: str


@pytest.fixture
def posters(site) -> Posters:
    """A poster at the canteen door of the main gate, a yes/no question that alerts on yes, HR."""
    from server.extensions import db
    from server.models import Enterprise, Gate
    from tests.factories import make_poster, make_question, make_user

    with site.app.app_context():
        enterprise = db.session.scalar(
            select(Enterprise).where(Enterprise.name == site.world.enterprise_name)
        )
        gate_id = site.world.gates[0]["id"]
        poster = make_poster(
            enterprise=enterprise, gate=db.session.get(Gate, gate_id), label="Cửa nhà ăn"
        )
        question = make_question(enterprise=enterprise)
        hr = make_user("hr", enterprise=enterprise)
        hr.set_password(HR_PASSWORD)
        db.session.commit()
        made = Posters(poster.token, poster.id, question.id, hr.username)
        db.session.remove()
    return made


@pytest.fixture
def browser(playwright) -> Iterator[Any]:
    """Chromium with the flags of the brief; phones are its contexts."""
    launched = playwright.chromium.launch(
        executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
    )
    yield launched
    launched.close()


def self_events(site) -> list[dict[str, Any]]:
    from server.extensions import db
    from server.models import GateEvent, SelfCheckin

    with site.app.app_context():
        rows = db.session.execute(
            select(GateEvent, SelfCheckin.poster_id)
            .join(SelfCheckin, SelfCheckin.event_id == GateEvent.id)
            .order_by(GateEvent.occurred_at)
        ).all()
        found = [
            {
                "id": str(event.id),
                "direction": event.direction,
                "method": event.method,
                "device_id": event.device_id,
                "gate_id": event.gate_id,
                "worker_id": event.worker_id,
                "visitor_id": event.visitor_id,
                "flags": list(event.flags),
                "poster_id": poster_id,
            }
            for event, poster_id in rows
        ]
        db.session.remove()
    return found


def wait_status(page: Any, state: str, timeout: float = 15) -> None:
    page.wait_for_selector(f"#status[data-state='{state}']", timeout=timeout * 1000)


def test_self_check_in_on_a_phone(site, posters, browser) -> None:
    worker = site.world.workers[4]
    url = f"{site.server.url}/c/{posters.token}"
    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # A worker's first check-in: identify once, then one tap with the declaration.
    page.goto(url)
    page.wait_for_selector("body[data-ready='true']")
    page.fill("#worker-form [name=employee_code]", worker["code"])
    page.fill("#worker-form [name=phone]", worker["phone"])
    page.click("#worker-form button")
    page.wait_for_selector("#tap:not([hidden])")
    assert page.text_content("#person-name") == worker["name"]
    assert page.get_attribute("body", "data-proposed") == "in"
    page.check(f"input[name='q{posters.question_id}'][value='no']")
    page.click("#go-in")
    wait_status(page, "saved")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "checkin-phone-saved.png"))
    [first] = self_events(site)
    assert first["direction"] == "in"
    assert first["method"] == "self"
    assert first["device_id"] is None
    assert first["worker_id"] == worker["id"]
    assert first["gate_id"] == site.world.gates[0]["id"]
    assert first["poster_id"] == posters.poster_id

    # Later: the phone remembers the worker and proposes the way out.
    page.reload()
    page.wait_for_selector("#tap:not([hidden])")
    page.wait_for_selector("body[data-proposed='out']")
    page.click("#go-out")
    wait_status(page, "saved")
    assert [e["direction"] for e in self_events(site)] == ["in", "out"]

    # The server goes down: the page still opens (its service worker), the check-in waits on
    # the phone and arrives once after the restart.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=15000)
    site.server.kill()
    page.reload()
    page.wait_for_selector("#tap:not([hidden])")
    page.check(f"input[name='q{posters.question_id}'][value='no']")
    page.click("#go-in")
    page.wait_for_selector("#queue[data-count='1']:not([hidden])", timeout=15000)
    wait_status(page, "waiting")
    queued_id = page.evaluate("JSON.parse(localStorage.getItem('gatelog-self-queue'))[0].body.id")
    site.server.start()
    page.wait_for_selector("#queue[data-count='0']", state="attached", timeout=60000)
    wait_status(page, "saved", timeout=30)
    stored = self_events(site)
    assert [e["id"] for e in stored].count(queued_id) == 1
    assert [e["direction"] for e in stored] == ["in", "out", "in"]

    # A visitor on another phone answers "yes" to the alerting question.
    visitor_phone = browser.new_context(**PHONE)
    visitor_page = visitor_phone.new_page()
    visitor_page.goto(url)
    visitor_page.wait_for_selector("body[data-ready='true']")
    visitor_page.click("#tab-visitor")
    for field, value in VISITOR.items():
        visitor_page.fill(f"#visitor-form [name={field}]", value)
    visitor_page.click("#visitor-form button")
    visitor_page.wait_for_selector("#tap:not([hidden])")
    visitor_page.check(f"input[name='q{posters.question_id}'][value='yes']")
    visitor_page.click("#go-in")
    wait_status(visitor_page, "saved")
    visitor_event = self_events(site)[-1]
    assert visitor_event["visitor_id"] is not None
    assert visitor_event["flags"] == ["declaration_alert"]

    # HR sees the alert in its log of self check-ins.
    office = browser.new_context(locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh")
    hr_page = office.new_page()
    hr_page.goto(f"{site.server.url}/auth/login")
    hr_page.fill("[name=username]", posters.hr_username)
    hr_page.fill("[name=password]", HR_PASSWORD)
    hr_page.click("form button.primary")
    hr_page.goto(f"{site.server.url}/hr/checkin/log?alerts=1")
    row = hr_page.locator(f"tr[data-event-id='{visitor_event['id']}']")
    assert row.get_attribute("class") == "alert"
    assert VISITOR["name"] in row.text_content()
    assert hr_page.locator("#self-log tbody tr.alert").count() == 1

    # HR rotates the poster: the old printed code refuses, and nothing is recorded.
    hr_page.goto(f"{site.server.url}/hr/checkin/posters/{posters.poster_id}")
    hr_page.once("dialog", lambda dialog: dialog.accept())
    hr_page.click("#rotate-form button")
    hr_page.wait_for_load_state()
    new_url = hr_page.text_content("#poster-url")
    assert posters.token not in new_url
    before = len(self_events(site))
    page.click("#go-out")
    wait_status(page, "failed")
    page.reload()
    assert page.locator("#invalid").is_visible()
    assert len(self_events(site)) == before
    assert errors == []
    for context in (phone, visitor_phone, office):
        context.close()


def test_a_phone_scans_the_changing_code_on_the_gate_screen(site, posters, browser) -> None:
    from server.extensions import db
    from server.hr.checkin.services import set_on_screen
    from server.models import GatePoster, User, utcnow

    with site.app.app_context():
        hr = db.session.scalar(select(User).where(User.username == posters.hr_username))
        poster = db.session.get(GatePoster, posters.poster_id)
        screen_key = set_on_screen(hr, poster, on=True, now=utcnow()).screen_key
        db.session.commit()
        db.session.remove()
    tablet = browser.new_context(viewport={"width": 1280, "height": 800})
    screen_page = tablet.new_page()
    screen_page.goto(f"{site.server.url}/c/screen/{screen_key}")
    screen_page.wait_for_function(
        "() => document.querySelector('#qr').complete && !!document.querySelector('#qr').src"
    )
    # The phone's camera: the gate app's vendored jsQR reads the code off the screen.
    screen_page.add_script_tag(url=f"{site.server.url}/app/vendor/jsQR.js")
    scanned = screen_page.evaluate(
        """() => {
          const canvas = document.createElement('canvas');
          canvas.width = canvas.height = 480;
          const context = canvas.getContext('2d');
          context.fillStyle = '#fff';
          context.fillRect(0, 0, 480, 480);
          context.drawImage(document.querySelector('#qr'), 0, 0, 480, 480);
          const pixels = context.getImageData(0, 0, 480, 480);
          const found = jsQR(pixels.data, 480, 480);
          return found ? found.data : null;
        }"""
    )
    assert scanned.startswith(f"{site.server.url}/c/{posters.token}?k=")

    worker = site.world.workers[7]
    phone = browser.new_context(**PHONE)
    page = phone.new_page()
    page.goto(f"{site.server.url}/c/{posters.token}")
    assert page.locator("#invalid").is_visible()
    page.goto(scanned)
    page.wait_for_selector("body[data-ready='true']")
    page.fill("#worker-form [name=employee_code]", worker["code"])
    page.fill("#worker-form [name=phone]", worker["phone"])
    page.click("#worker-form button")
    page.wait_for_selector("#tap:not([hidden])")
    page.check(f"input[name='q{posters.question_id}'][value='no']")
    page.click("#go-in")
    wait_status(page, "saved")
    [event] = self_events(site)
    assert event["worker_id"] == worker["id"]
    phone.close()
    tablet.close()
