"""The activity pages in Chromium, in Vietnamese, on a desktop and a phone.

Each page must fit a 390 px phone without sideways scrolling; screenshots of every page are left
in test-artifacts/screenshots/hr/ for people to look at.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from server.extensions import db
from server.models import QuarantinedEvent
from tests.factories import (
    PASSWORD,
    make_device,
    make_enterprise,
    make_event,
    make_gate,
    make_user,
    make_visitor_pass,
    make_worker,
)

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots" / "hr"
NAMES = [
    "Nguyễn Thị Mai",
    "Trần Văn Hùng",
    "Lê Thị Thu Hà",
    "Phạm Minh Đức",
    "Hoàng Văn Nam",
    "Đặng Thị Lan",
    "Bùi Quang Huy",
    "Đỗ Thị Ngọc Ánh",
]


def seed_factory(now: datetime) -> dict[str, Any]:
    """A small enterprise with a day of movements, unknown people, a rejected record."""
    enterprise = make_enterprise(name="Công ty TNHH May Phú An")
    main_gate = make_gate(enterprise, code="G1", name="Cổng chính")
    side_gate = make_gate(enterprise, code="G2", name="Cổng phụ")
    main_tablet, _ = make_device(
        main_gate,
        label="Máy cổng chính",
        last_sync_at=now - timedelta(minutes=1),
        last_skew_seconds=3.0,
        highest_seq=1842,
        app_version="1.2.0",
    )
    make_device(
        side_gate,
        label="Máy cổng phụ",
        last_sync_at=now - timedelta(hours=3),
        reported_backlog=27,
        oldest_pending_at=now - timedelta(hours=2, minutes=40),
        last_skew_seconds=-412.0,
        highest_seq=904,
        app_version="1.1.3",
    )
    departments = ["May 1", "May 2", "Cắt", "Hoàn thiện"]
    workers = [
        make_worker(enterprise, full_name=name, department=departments[n % 4])
        for n, name in enumerate(NAMES)
    ]
    for n, worker in enumerate(workers):
        gate = main_gate if n % 3 else side_gate
        came = now - timedelta(hours=9, minutes=7 * n)
        make_event(gate, worker=worker, device=main_tablet, occurred_at=came)
        if n % 4 == 0:
            make_event(
                gate,
                worker=worker,
                device=main_tablet,
                occurred_at=came + timedelta(hours=4),
                direction="out",
                method="camera",
            )
    make_event(main_gate, worker=workers[1], occurred_at=now - timedelta(hours=15))
    make_event(
        side_gate,
        subject_type="badge",
        subject_value="Q7KX2M4P9RTA5WZ3BC6D",
        occurred_at=now - timedelta(hours=2),
        received_at=now - timedelta(minutes=20),
        occurred_offset_minutes=0,
        flags=["clock_skew"],
    )
    make_event(
        main_gate, subject_value="Anh giao hàng Viettel Post", occurred_at=now - timedelta(hours=1)
    )
    visitor_pass = make_visitor_pass(
        enterprise,
        full_name="Vũ Thị Khách",
        valid_from=now - timedelta(hours=6),
        valid_until=now - timedelta(hours=1),
    )
    make_event(
        main_gate,
        visitor_pass=visitor_pass,
        occurred_at=now - timedelta(hours=5),
    )
    db.session.add(
        QuarantinedEvent(
            enterprise_id=enterprise.id,
            device_id=main_tablet.id,
            reason="gate_not_in_enterprise",
            message="gate_id 77 does not belong to this enterprise",
            raw='{"id": "3f1c…", "gate_id": 77, "subject": "<b>Nguyễn</b>", "direction": "in"}',
            seq=1841,
            received_at=now - timedelta(minutes=30),
        )
    )
    db.session.commit()
    hr = make_user("hr", enterprise=enterprise, full_name="Chị Hương (Nhân sự)", language="vi")
    day = (now - timedelta(hours=9)).astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    return {"hr": hr, "gate": main_gate, "worker": workers[0], "day": day.isoformat()}


def test_activity_pages_fit_a_phone_and_a_desktop(browser: Any, live_url: str) -> None:
    world = seed_factory(datetime.now(UTC))
    pages = {
        "log": "/hr/log",
        "log-filtered": "/hr/log?unresolved=y&lag=5m",
        "unresolved": "/hr/log/unresolved",
        "quarantined": "/hr/log/quarantined",
        "timeline": f"/hr/log/people/{world['worker'].id}",
        "presence": f"/hr/presence?day={world['day']}",
        "gates": "/hr/gates",
        "gate-edit": f"/hr/gates/{world['gate'].id}/edit",
        "poster": f"/hr/gates/{world['gate'].id}/poster",
        "tablets": "/hr/tablets",
    }
    SHOTS.mkdir(parents=True, exist_ok=True)
    overflowing = []
    for width, height in ((1280, 900), (390, 844)):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN")
        page = context.new_page()
        page.goto(f"{live_url}/auth/login")
        page.fill("input[name=username]", world["hr"].username)
        page.fill("input[name=password]", PASSWORD)
        page.locator("form button[type=submit], form button.primary").first.click()
        page.wait_for_url(f"{live_url}/hr/**")
        for name, path in pages.items():
            page.goto(live_url + path)
            page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
            page.screenshot(path=SHOTS / f"{name}-{width}.png", full_page=True)
            if page.evaluate("document.documentElement.scrollWidth > window.innerWidth + 1"):
                overflowing.append(f"{name} at {width}px")
        page.goto(f"{live_url}/hr/gates")
        page.get_by_role("button", name="Đăng ký máy tính bảng").first.click()
        page.wait_for_selector("text=GL1:E:")
        page.screenshot(path=SHOTS / f"enrolment-{width}.png", full_page=True)
        assert page.locator(".qr svg").count() == 1
        context.close()
    assert overflowing == []
