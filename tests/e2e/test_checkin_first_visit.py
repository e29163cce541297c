"""The phone page's first visit: nothing to tap before the person is known, then one code, one
phone number and one tap, answered where the thumb is. Screenshots at two phone sizes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from tests.e2e.harness import SCREENSHOTS
from tests.e2e.test_checkin import PHONE, browser, self_events  # noqa: F401 - fixture

SIZES = {"390x844": {"width": 390, "height": 844}, "360x640": {"width": 360, "height": 640}}


@pytest.fixture
def poster_token(site) -> str:
    """A poster at the main gate whose label is the gate's own name, and no health question."""
    from server.extensions import db
    from server.models import Enterprise, Gate
    from tests.factories import make_poster

    with site.app.app_context():
        enterprise = db.session.scalar(
            select(Enterprise).where(Enterprise.name == site.world.enterprise_name)
        )
        gate = db.session.get(Gate, site.world.gates[0]["id"])
        token = make_poster(enterprise=enterprise, gate=gate, label=gate.name).token
        db.session.remove()
    return token


def photograph(page: Any, state: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, size in SIZES.items():
        page.set_viewport_size(size)
        page.screenshot(path=str(SCREENSHOTS / f"checkin-{state}-{name}.png"), full_page=True)
    page.set_viewport_size(SIZES["390x844"])


def test_a_workers_first_visit_is_a_code_a_phone_number_and_one_tap(
    site,
    poster_token,
    browser,  # noqa: F811 - the fixture
) -> None:
    worker = site.world.workers[2]
    page = browser.new_context(**PHONE).new_page()
    page.goto(f"{site.server.url}/c/{poster_token}")
    page.wait_for_selector("body[data-ready='true']")

    assert page.is_visible("#worker-form")
    assert not page.is_visible("#tap")
    assert not page.is_visible("#go-in")
    assert page.inner_text("header h1").strip() == site.world.gates[0]["name"]
    photograph(page, "first-visit")

    page.fill("#worker-form [name=employee_code]", worker["code"])
    page.fill("#worker-form [name=phone]", worker["phone"])
    page.click("#worker-form button[value=in]")
    page.wait_for_selector("#status[data-state='saved']", timeout=15000)

    # The answer sits right under the buttons, on screen, and nothing moved under the thumb.
    status = page.locator("#status").bounding_box()
    out_button = page.locator("#go-out").bounding_box()
    assert status is not None
    assert out_button is not None
    assert status["y"] + status["height"] <= PHONE["viewport"]["height"]
    assert 0 <= status["y"] - (out_button["y"] + out_button["height"]) <= 40
    assert worker["name"] in page.inner_text("#person-name")
    photograph(page, "first-visit-saved")

    page.click("#go-out")
    page.wait_for_function(
        "() => document.querySelector('#status').textContent.includes('lượt ra')", timeout=15000
    )
    after = page.locator("#go-out").bounding_box()
    assert after is not None
    assert after["y"] == out_button["y"]
    assert [(e["direction"], e["worker_id"]) for e in self_events(site)] == [
        ("in", worker["id"]),
        ("out", worker["id"]),
    ]
    page.click("#not-me")
    page.click("#tab-visitor")
    photograph(page, "visitor-form")
