"""Appendix 01 and a province's list as documents ready to send: their text, read back."""

from __future__ import annotations

import io
import re
from urllib.parse import unquote

import pytest
from flask import Flask
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from server.admin import letterhead
from server.board.documents import MOTTO, NATION, date_line
from server.extensions import db
from server.models import AuditLog, Worker, utcnow
from tests.factories import login, make_enterprise, make_user, make_worker, make_zone

BAC_NINH, HUNG_YEN, NGHE_AN = 24, 33, 40
LETTERHEAD = {
    "superior_body": "UBND TỈNH BẮC NINH",
    "body": "Ban quản lý các khu công nghiệp",
    "number_suffix": "BQL-LĐ",
    "place": "Bắc Ninh",
    "signer_capacity": "KT. TRƯỞNG BAN",
    "signer_title": "PHÓ TRƯỞNG BAN",
    "signer_name": "Trần Văn Hà",
    "recipients": "Như trên;\nSở LĐ-TB&XH các tỉnh, thành phố;\nLưu: VT, LĐ.",
}


@pytest.fixture
def board(app: Flask, client):  # type: ignore[no-untyped-def]
    """A zone with two enterprises, one outside any zone, workers of three provinces."""
    zone = make_zone(name="KCN Quế Võ")
    inside = make_enterprise(name="Công ty May Quế Võ", zone_id=zone.id)
    outside = make_enterprise(name="Công ty Gỗ Ngoài Khu", zone_id=None)
    people = [
        (inside, BAC_NINH, "Bắc Giang", "F", "Nguyễn Thị An"),
        (inside, BAC_NINH, "Hà Bắc", "M", "Trần Văn Bình"),
        (inside, BAC_NINH, "Bắc Ninh", "F", "Lê Thị Cúc"),
        (outside, BAC_NINH, "Bắc Giang", "F", "Phạm Thị Dung"),
        (inside, HUNG_YEN, "Thái Bình", "", "Hoàng Văn Em"),
        (outside, NGHE_AN, "Nghệ An", "M", "Vũ Văn Phúc"),
        (inside, None, "Vientiane, Lào", "F", "Đỗ Thị Giang"),
    ]
    for enterprise, code, raw, sex, name in people:
        make_worker(
            enterprise,
            home_province_code=code,
            home_province_raw=raw,
            sex=sex,
            full_name=name,
            permanent_address=f"Thôn Đông, {raw}" if code else raw,
        )
    make_worker(inside, home_province_code=BAC_NINH, full_name="Đã Nghỉ", sex="F", active=False)
    admin = make_user("admin")
    letterhead.save(admin, LETTERHEAD, now=utcnow())
    db.session.commit()
    # The administrator sees the enterprises outside any zone too.
    login(client, admin)
    return zone


def active(*conditions) -> int:  # type: ignore[no-untyped-def]
    query = select(func.count(Worker.id)).where(Worker.active.is_(True), *conditions)
    return db.session.scalar(query) or 0


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def downloaded_name(response) -> str:  # type: ignore[no-untyped-def]
    disposition = response.headers["Content-Disposition"]
    return unquote(disposition.split("filename*=UTF-8''")[1])


def test_appendix_01_pdf_is_a_document_with_header_table_and_signature(client, board) -> None:
    response = client.get("/board/labour/appendix-01.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.get_data())
    for expected in (
        "UBND TỈNH BẮC NINH",
        "BAN QUẢN LÝ CÁC KHU CÔNG NGHIỆP",
        NATION,
        MOTTO,
        "Số: /BQL-LĐ",
        "Phụ lục 01",
        "BẢNG TỔNG HỢP SỐ LƯỢNG LAO ĐỘNG THEO TỈNH, THÀNH PHỐ NƠI THƯỜNG TRÚ",
        "Trong đó: nữ",
        "Trong KCN",
        "Ngoài KCN",
        "Nơi nhận:",
        "- Lưu: VT, LĐ.",
        "KT. TRƯỞNG BAN",
        "PHÓ TRƯỞNG BAN",
        "Trần Văn Hà",
        "Bắc Giang (2),",
        "Hà Bắc (1)",
    ):
        assert expected in " ".join(text.split()), expected
    assert re.search(r"Bắc Ninh, ngày \d\d tháng \d+ năm \d{4}", text)
    # The totals row equals the database: all active workers, the women, inside and outside.
    totals = re.search(r"Tổng cộng (\d+) (\d+) (\d+) (\d+)", " ".join(text.split()))
    assert totals is not None
    women = active(Worker.sex == "F")
    assert [int(n) for n in totals.groups()] == [active(), women, 5, 2]
    assert [int(n) for n in totals.groups()] == [7, 4, 5, 2]
    assert downloaded_name(response).startswith("Phụ lục 01 - Tổng hợp lao động theo tỉnh - ")


def test_appendix_01_xlsx_lists_the_34_provinces_and_totals_equal_to_the_database(
    client, board
) -> None:
    response = client.get("/board/labour/appendix-01.xlsx")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0][0] == "UBND TỈNH BẮC NINH"
    assert NATION in values[0]
    assert MOTTO in values[1]
    header_line = next(i for i, row in enumerate(values) if row[0] == "STT")
    assert values[header_line][:7] == [
        "STT",
        "Tỉnh, thành phố nơi thường trú",
        "Tên tỉnh trước ngày 01/7/2025 (theo dữ liệu nhập)",
        "Tổng số lao động",
        "Trong đó: nữ",
        "Trong KCN",
        "Ngoài KCN",
    ]
    body = values[header_line + 1 :]
    provinces = [row for row in body if isinstance(row[0], int)]
    assert len(provinces) == 35  # the 34, then the workers whose province is not known
    by_name = {row[1]: row for row in provinces}
    assert by_name["Bắc Ninh"][3:7] == [active(Worker.home_province_code == BAC_NINH), 3, 3, 1]
    assert by_name["Hà Nội"][3] == 0
    [totals] = [row for row in body if row[1] == "Tổng cộng"]
    assert totals[3:7] == [active(), active(Worker.sex == "F"), 5, 2]
    assert any(row[0] == "Nơi nhận:" for row in values)
    assert any(row and "Trần Văn Hà" in row for row in values)


def test_appendix_01_by_enterprise_adds_a_column_per_enterprise(client, board) -> None:
    response = client.get("/board/labour/appendix-01.xlsx?by=enterprise")
    values = [
        [c.value for c in row]
        for row in load_workbook(io.BytesIO(response.get_data())).active.iter_rows()
    ]
    header = next(row for row in values if row[0] == "STT")
    assert {"Công ty May Quế Võ", "Công ty Gỗ Ngoài Khu"} <= set(header[7:])


def test_a_province_list_names_each_worker_and_is_audited(client, board) -> None:
    response = client.get(f"/board/labour/province-list.pdf?province={BAC_NINH}")
    assert response.status_code == 200
    text = " ".join(pdf_text(response.get_data()).split())
    assert "DANH SÁCH NGƯỜI LAO ĐỘNG CÓ NƠI THƯỜNG TRÚ TẠI TỈNH BẮC NINH" in text, text
    for column in ("Họ và tên", "Số điện thoại", "Nơi thường trú", "Doanh nghiệp", "Bộ phận"):
        assert column in text
    for name in ("Nguyễn Thị An", "Trần Văn Bình", "Lê Thị Cúc", "Phạm Thị Dung"):
        assert name in text
    assert "Đã Nghỉ" not in text
    assert f"Tổng cộng: {active(Worker.home_province_code == BAC_NINH)} người" in text
    assert "Thôn Đông, Bắc Giang" in text
    assert downloaded_name(response).startswith("Danh sách lao động Bắc Ninh - ")
    [entry] = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "board.export_province_list")
    )
    assert entry.details["rows"] == 4


def test_a_province_list_xlsx_keeps_a_formula_like_name_as_text(client, board) -> None:
    enterprise = make_enterprise(name="Khác", zone_id=board.id)
    make_worker(enterprise, home_province_code=NGHE_AN, full_name='=HYPERLINK("x")')
    db.session.commit()
    response = client.get(f"/board/labour/province-list.xlsx?province={NGHE_AN}")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value == '=HYPERLINK("x")']
    assert [cell.data_type for cell in cells] == ["s"]


def test_a_province_list_needs_one_province(client, board) -> None:
    assert client.get("/board/labour/province-list.pdf").status_code == 400


def test_the_date_line_follows_decree_30() -> None:
    from datetime import date

    assert date_line("Bắc Giang", date(2021, 5, 15)) == "Bắc Giang, ngày 15 tháng 5 năm 2021"
    assert date_line("Bắc Giang", date(2021, 2, 3)) == "Bắc Giang, ngày 03 tháng 02 năm 2021"


def test_the_administrator_sets_the_letterhead_and_nobody_else(client, app) -> None:
    admin = make_user("admin")
    login(client, admin)
    response = client.post("/admin/letterhead", data=LETTERHEAD)
    assert response.status_code == 302
    assert letterhead.current().signer_name == "Trần Văn Hà"
    [entry] = db.session.scalars(select(AuditLog).where(AuditLog.action == "letterhead.update"))
    assert entry.user_id == admin.id
    inspector = app.test_client()
    login(inspector, make_user("inspector"))
    refused = inspector.post("/admin/letterhead", data={**LETTERHEAD, "signer_name": "Kẻ Khác"})
    assert refused.status_code in (302, 403)
    assert letterhead.current().signer_name == "Trần Văn Hà"
