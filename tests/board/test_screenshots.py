"""Every board and admin page in Vietnamese, in a real Chromium, saved for people to look at."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from server.audit import record_audit
from server.extensions import db
from server.models import SyncBatch, utcnow
from tests.board.world import build_world
from tests.factories import PASSWORD, make_event, make_user, make_visitor_pass, make_worker

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots" / "board"


def seed_for_pictures():  # type: ignore[no-untyped-def]
    """The health world seen from today, with people, lags and an audit trail worth showing."""
    now = utcnow()
    world = build_world(now)
    provinces = [
        (24, "Bắc Giang"),
        (24, "Bắc Ninh"),
        (33, "Thái Bình"),
        (40, "Nghệ An"),
        (None, ""),
    ]
    names = [
        "Nguyễn Văn An",
        "Trần Thị Bình",
        "Lê Văn Cường",
        "Phạm Thị Dung",
        "Hoàng Văn Em",
        "Đặng Thị Giang",
        "Vũ Văn Hải",
        "Bùi Thị Lan",
    ]
    workers = [
        make_worker(
            world.ent,
            full_name=name,
            home_province_code=code,
            home_province_raw=raw,
            permanent_address=f"Thôn {n}, {raw or 'không rõ'}",
        )
        for n, (name, (code, raw)) in enumerate(zip(names, provinces * 2, strict=False))
    ]
    for n, worker in enumerate(workers):
        came = now - timedelta(hours=6, minutes=n * 20)
        lag = timedelta(seconds=(20, 150, 900, 3_600, 20_000, 100_000, 40, 200)[n])
        make_event(
            world.g1,
            worker=worker,
            device=world.gapped,
            direction="in",
            occurred_at=came,
            received_at=came + lag,
        )
        if n % 3:
            left = came + timedelta(hours=4)
            make_event(
                world.g2, worker=worker, direction="out", occurred_at=left, received_at=left + lag
            )
    gone = workers[3]
    make_event(world.g1, worker=gone, direction="out", occurred_at=now - timedelta(days=20))
    visitor_pass = make_visitor_pass(world.ent, full_name="Khách Nguyễn Thu", now=now)
    make_event(
        world.g1,
        direction="in",
        occurred_at=now - timedelta(hours=5),
        visitor_pass=visitor_pass,
    )
    for hour in range(12):
        db.session.add(
            SyncBatch(
                client_batch_id=str(uuid.uuid4()),
                device_id=world.gapped.id,
                received_at=now - timedelta(hours=hour),
                sent_at=now - timedelta(hours=hour, seconds=300),
                accepted=hour % 5,
                duplicate=hour % 2,
                backlog=hour % 3,
                skew_seconds=-300.0,
                app_version="1.4.2",
                duration_ms=40.0 + hour,
            )
        )
    hr = make_user("hr", enterprise=world.ent, username="nhansu.habac", full_name="Phòng nhân sự")
    record_audit(hr, "hr.export_log", now=now - timedelta(hours=2), enterprise_id=world.ent.id)
    record_audit(
        hr,
        "hr.view_worker",
        now=now - timedelta(hours=1),
        enterprise_id=world.ent.id,
        target_type="worker",
        target_id=workers[0].id,
    )
    db.session.commit()
    return world, workers


def test_screenshots_of_every_board_and_admin_page(browser: Any, live_url: str) -> None:
    world, workers = seed_for_pictures()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    # Pictures of an earlier run must not stand in for pages this run failed to take.
    for old in SCREENSHOTS.glob("*.png"):
        old.unlink()
    board_pages = {
        "01-suc-khoe-dong-bo": "/board/",
        "02-doanh-nghiep-bieu-do-tre": f"/board/enterprises/{world.ent.id}",
        "03-may-lich-su-dong-bo-va-so-thieu": f"/board/devices/{world.gapped.id}",
        "04-lao-dong-theo-tinh": "/board/labour",
        "05-co-the-da-ve-que": "/board/labour/gone-home",
        "06-truy-vet-tim-nguoi": "/board/tracing?q=nguyen",
        "07-truy-vet-ket-qua": f"/board/tracing/workers/{workers[0].id}?start="
        f"{(utcnow() + timedelta(hours=7) - timedelta(days=1)):%Y-%m-%dT00:00}"
        f"&end={(utcnow() + timedelta(hours=7)):%Y-%m-%dT%H:%M}",
        "08-nhat-ky-truy-cap": "/board/audit",
    }
    admin_pages = {
        "09-quan-tri": "/admin/",
        "10-quan-tri-khu-cong-nghiep": "/admin/zones",
        "11-quan-tri-doanh-nghiep": "/admin/enterprises",
        "12-quan-tri-tai-khoan": "/admin/users",
        "13-quan-tri-sua-tai-khoan": f"/admin/users/{world.inspector.id}",
        "14-quan-tri-cau-hinh": "/admin/settings",
    }
    for user, pages in ((world.inspector, board_pages), (world.admin, admin_pages)):
        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="vi-VN")
        page.goto(f"{live_url}/auth/login")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit], form button.primary")
        page.wait_for_load_state()
        for name, path in pages.items():
            response = page.goto(f"{live_url}{path}")
            assert response is not None, path
            assert response.status == 200, path
            # A lost session would show the sign-in page, with a 200 too.
            assert "/auth/login" not in page.url, path
            assert page.locator("html").get_attribute("lang") == "vi"
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
        page.close()
    taken = {path.stem: path.read_bytes() for path in SCREENSHOTS.glob("*.png")}
    assert sorted(taken) == sorted({**board_pages, **admin_pages})
    assert all(data.startswith(b"\x89PNG") for data in taken.values())
