"""The roster, badge and pass pages in Chromium, on a desk and on a phone, in Vietnamese.

The browser is served by the Flask test client through Playwright's request routing, so no
server process or port is needed. Screenshots land in test-artifacts/screenshots/hr/ for a
person to look at; the asserts pin what a screenshot would show wrong: a page wider than the
phone, or badge cards that do not print at bank-card size.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlsplit

import pytest

from server.extensions import db
from server.models import Worker
from tests.e2e.harness import DEPARTMENTS, GIVEN, MIDDLES, SCREENSHOTS, SURNAMES
from tests.factories import login, make_enterprise, make_user, make_visitor_pass, make_worker
from tests.hr.test_import import messy_workbook

OUT = SCREENSHOTS / "hr"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
ORIGIN = "http://gatelog.test"
# 85.6 mm at the CSS reference resolution of 96 px per inch.
CARD_WIDTH_PX = 85.6 / 25.4 * 96
A4_WIDTH_PX = round(210 / 25.4 * 96)


@pytest.fixture
def office(client):
    """An enterprise with a realistic roster and passes, its HR user signed in on `client`."""
    enterprise = make_enterprise(name="Công ty TNHH May mặc Hà Phong")
    user = make_user("hr", enterprise=enterprise, full_name="Nguyễn Thu Hằng")
    provinces = [(24, "Bắc Giang"), (33, "Thái Bình"), (40, "Nghệ An"), (31, "Hải Dương")]
    for n in range(32):
        code, raw = provinces[n % len(provinces)]
        make_worker(
            enterprise,
            employee_code=f"HP{n + 1:04d}",
            full_name=f"{SURNAMES[n % 8]} {MIDDLES[n % 6]} {GIVEN[n % 12]}",
            department=DEPARTMENTS[n % 5],
            home_province_code=code,
            home_province_raw=raw,
            permanent_address=f"Xã Đông Hưng, huyện Đông Hưng, tỉnh {raw}",
            active=n != 5,
        )
    make_worker(
        enterprise,
        employee_code="HP9999",
        full_name="Tôn Nữ Thị Phương Thảo Nguyên Khánh Linh",
        department="Hoàn thiện và đóng gói xuất khẩu",
    )
    visitor_pass = make_visitor_pass(
        enterprise,
        full_name="Phan Văn Kiểm",
        purpose="Kiểm định nồi hơi",
        host="Anh Tuấn, phòng kỹ thuật",
    )
    login(client, user)
    return {
        "worker_id": db.session.scalar(
            db.select(Worker.id).where(Worker.employee_code == "HP0001")
        ),
        "pass_id": visitor_pass.id,
    }


def route_to(client):
    """A Playwright route handler that answers every request from the Flask app."""

    def handle(route: Any) -> None:
        request = route.request
        url = urlsplit(request.url)
        response = client.open(
            url.path + (f"?{url.query}" if url.query else ""),
            method=request.method,
            data=request.post_data_buffer,
            headers={"Content-Type": request.headers.get("content-type", "")},
            buffered=True,
        )
        route.fulfill(
            status=response.status_code,
            headers={k: v for k, v in response.headers.items() if k.lower() != "content-length"},
            body=response.get_data(),
        )

    return handle


def shoot(page: Any, name: str, size: str) -> None:
    page.screenshot(path=str(OUT / f"{name}-{size}.png"), full_page=True)
    # clientWidth, not innerWidth: a vertical scrollbar would hide that much overflow.
    root = "document.documentElement"
    overflow = page.evaluate(f"{root}.scrollWidth - {root}.clientWidth")
    assert overflow <= 0, f"{name} is {overflow}px wider than the {size} screen"


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_pages_fit_the_screen_and_are_captured(client, office, browser, size):
    OUT.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=VIEWPORTS[size], locale="vi-VN")
    page = context.new_page()
    page.route("**/*", route_to(client))

    for name, path in [
        ("roster", "/hr/roster/"),
        ("roster-search", "/hr/roster/?q=nguyen+van"),
        ("worker", f"/hr/roster/{office['worker_id']}"),
        ("worker-form", f"/hr/roster/{office['worker_id']}/edit"),
        ("import", "/hr/roster/import"),
        ("passes", "/hr/passes/"),
        ("pass-form", "/hr/passes/new"),
        ("pass", f"/hr/passes/{office['pass_id']}"),
    ]:
        response = page.goto(ORIGIN + path)
        # An error page or the sign-in page would fit the screen just as well.
        assert response is not None, path
        assert response.status == 200, path
        assert "/auth/login" not in page.url, path
        shoot(page, name, size)

    # Chromium hides file bodies from request interception, so the dry run is posted by the
    # test client and its answer shown at a URL of its own.
    dry_run = client.post(
        "/hr/roster/import",
        data={"file": (io.BytesIO(messy_workbook()), "danh-sach.xlsx")},
        content_type="multipart/form-data",
    )
    assert dry_run.status_code == 200
    report = dry_run.get_data()
    page.route(
        ORIGIN + "/dry-run", lambda route: route.fulfill(body=report, content_type="text/html")
    )
    page.goto(ORIGIN + "/dry-run")
    shoot(page, "import-report", size)

    badges = page.goto(ORIGIN + "/hr/roster/badges")
    assert badges is not None
    assert badges.status == 200
    shoot(page, "badges", size)
    context.close()


def test_badge_cards_print_at_bank_card_size_ten_to_an_a4_page(client, office, browser):
    OUT.mkdir(parents=True, exist_ok=True)
    # As wide as A4 paper, so the screenshot shows the two columns the printer gets.
    context = browser.new_context(viewport={"width": A4_WIDTH_PX, "height": 1123}, locale="vi-VN")
    page = context.new_page()
    page.route("**/*", route_to(client))
    page.goto(ORIGIN + "/hr/roster/badges")
    page.emulate_media(media="print")
    page.screenshot(path=str(OUT / "badges-print.png"), full_page=True)
    boxes = [card.bounding_box() for card in page.query_selector_all(".badge-card")]
    assert len(boxes) == 32
    assert all(abs(box["width"] - CARD_WIDTH_PX) < 1 for box in boxes)
    assert not page.is_visible(".topbar")
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    # 32 cards at ten a page make four pages; a card split across pages would make more.
    assert pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 4
    context.close()
