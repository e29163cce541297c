"""Importing a roster file: the dry run line by line, then one commit, never a formula."""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import date, timedelta

import pytest
from openpyxl import Workbook
from openpyxl.styles import Font
from sqlalchemy import func, select

from server.extensions import db
from server.hr.roster import importer, services
from server.hr.roster.normalise import InvalidValue, phone
from server.models import AuditLog, Enterprise, RosterImport, Worker, utcnow
from tests.factories import login, make_enterprise, make_user, make_worker

ROW = re.compile(r'<tr class="action-(\w+)" id="line-(\d+)">(.*?)</tr>', re.S)
KEY = re.compile(r'name="key" type="hidden" value="([^"]+)"')
FORMULA_NAME = '=HYPERLINK("http://evil.example","Bấm vào")'


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def messy_workbook() -> bytes:
    """A roster as an HR office keeps it: title block, mixed headers, numbers for text."""
    book = Workbook()
    sheet = book.active
    sheet.append(["CÔNG TY TNHH MAY XUẤT KHẨU HÀ PHONG"])
    sheet.append(["DANH SÁCH NGƯỜI LAO ĐỘNG ĐANG LÀM VIỆC"])
    sheet.append([])
    sheet.append(
        [
            "STT",
            nfd("Họ và tên"),
            "MÃ  NV",
            "Số điện thoại",
            "Hộ khẩu thường trú",
            "Department",
            "CCCD",
            "Ngày sinh",
            "Ghi chú",
        ]
    )
    rows = [
        # line 5
        [
            1,
            "Nguyễn Văn An",
            "NV001",
            "0912 345 678",
            "Xã Tân Sơn, huyện Lục Ngạn, tỉnh Bắc Giang",
            "May 1",
            "024195001234",
            date(1995, 1, 2),
            "tổ trưởng",
        ],
        # line 6: NFD name, +84, a CCCD typed as a number (its leading 0 lost), a text date
        [
            2,
            nfd("Trần Thị Bích"),
            "NV002",
            "+84 987 654 321",
            "Thái Bình",
            "Kho",
            34195012345,
            "17/05/1990",
        ],
        # line 7: a phone typed as a number, its leading 0 lost
        [3, "Lê Văn Cường", "nv003", 912000111, "Hà Nội", "May 1"],
        [4, "Phạm Thị Dung", "NV004", "12345", "Nam Định", "May 2"],
        [5, "Hoàng Văn Em", "NV005", "0933000000", "Atlantis", "May 2"],
        [6],
        [7, "", "NV007", "0911111111", "Hà Nam"],
        [8, "Đỗ Văn Giang", "NV008", "0944000000", "Hải Dương"],
        [9, "Đỗ Văn Giang", "nv008", "0944000001", "Hải Dương"],
        # line 14: a formula where a name belongs
        [10, FORMULA_NAME, "NV010", "0977000000", "Nghệ An"],
        [11, "Vũ Thị Hạnh", "NV100", "0966 000 000", "", "Kho"],
        [12, "Bùi Văn Ích", "NV101", "", "", "Kho"],
    ]
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


EXPECTED_ACTIONS = {
    5: "create",
    6: "create",
    7: "create",
    8: "create",
    9: "create",
    10: "skipped",
    11: "refused",
    12: "refused",
    13: "refused",
    14: "create",
    15: "update",
    16: "unchanged",
}


@pytest.fixture
def hr(client):
    enterprise = make_enterprise()
    user = make_user("hr", enterprise=enterprise)
    login(client, user)
    make_worker(
        enterprise,
        employee_code="NV100",
        full_name="Vũ Thị Hạnh",
        phone="0900000000",
        department="Kho",
    )
    make_worker(
        enterprise, employee_code="NV101", full_name="Bùi Văn Ích", phone=None, department="Kho"
    )
    # Codes are per enterprise: the same code elsewhere is no clash.
    make_worker(make_enterprise(), employee_code="NV001", full_name="Người Công Ty Khác")
    return user


def upload(client, content: bytes, filename: str):
    return client.post(
        "/hr/roster/import",
        data={"file": (io.BytesIO(content), filename)},
        content_type="multipart/form-data",
    )


def report_rows(page: str) -> dict[int, tuple[str, str]]:
    return {int(line): (action, body) for action, line, body in ROW.findall(page)}


def worker(code: str, enterprise_id: int) -> Worker:
    return db.session.scalars(
        select(Worker).where(Worker.employee_code == code, Worker.enterprise_id == enterprise_id)
    ).one()


def count_workers() -> int:
    return db.session.scalar(select(func.count(Worker.id))) or 0


def test_dry_run_reports_every_line_and_writes_no_worker(client, hr):
    response = upload(client, messy_workbook(), "danh sach.xlsx")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Kiểm tra thử: chưa có gì được lưu" in page
    rows = report_rows(page)
    assert {line: action for line, (action, _body) in rows.items()} == EXPECTED_ACTIONS

    assert "0912345678" in rows[5][1]
    assert "Bắc Ninh" in rows[5][1]
    assert "Bắc Giang" in rows[5][1]
    assert "Trần Thị Bích" in rows[6][1]
    assert "Hưng Yên" in rows[6][1]
    assert "0912000111" in rows[7][1]
    # An unreadable optional cell is imported empty with a warning on that cell.
    assert "Số điện thoại" in rows[8][1]
    assert "không phải số điện thoại Việt Nam" in rows[8][1]
    assert "nhập để trống" in rows[8][1]
    # An address naming no province is kept as written and flagged for HR, never guessed.
    assert "Atlantis" in rows[9][1]
    assert "giữ nguyên như đã ghi" in rows[9][1]
    assert "nhập để trống" not in rows[9][1]
    assert "thiếu họ và tên" in rows[11][1]
    assert "xuất hiện trên nhiều dòng" in rows[12][1]
    assert "trùng với dòng 13" in rows[12][1]
    assert "trùng với dòng 12" in rows[13][1]
    assert "=HYPERLINK(&#34;http://evil.example&#34;,&#34;Bấm vào&#34;)" in rows[14][1]
    assert "Số điện thoại" in rows[15][1]
    assert "Các cột bỏ qua: Ghi chú" in page
    assert "dòng tên cột: 4" in page

    assert count_workers() == 3
    staged = db.session.scalars(select(RosterImport)).one()
    assert staged.committed_at is None
    assert staged.user_id == hr.id


def test_commit_writes_the_dry_run_in_one_go_and_only_once(client, hr):
    enterprise_id = hr.enterprise_id
    version_before = db.session.get(Enterprise, enterprise_id).roster_version
    page = upload(client, messy_workbook(), "danh sach.xlsx").get_data(as_text=True)
    [key] = KEY.findall(page)

    done = client.post("/hr/roster/import/commit", data={"key": key})
    result = done.get_data(as_text=True)
    assert done.status_code == 200
    assert "Đã nhập xong: thêm 6, cập nhật 1, từ chối 3." in result
    assert {line: action for line, (action, _b) in report_rows(result).items()} == EXPECTED_ACTIONS

    db.session.expire_all()
    assert count_workers() == 3 + 6
    an = worker("NV001", enterprise_id)
    assert (an.full_name, an.phone, an.national_id, an.date_of_birth) == (
        "Nguyễn Văn An",
        "0912345678",
        "024195001234",
        date(1995, 1, 2),
    )
    assert (an.home_province_code, an.home_province_raw) == (
        24,
        "Xã Tân Sơn, huyện Lục Ngạn, tỉnh Bắc Giang",
    )
    assert an.permanent_address == "Xã Tân Sơn, huyện Lục Ngạn, tỉnh Bắc Giang"
    assert an.department == "May 1"
    bich = worker("NV002", enterprise_id)
    assert bich.full_name == "Trần Thị Bích"
    assert unicodedata.is_normalized("NFC", bich.full_name)
    assert bich.search_name == "tran thi bich"
    assert (bich.phone, bich.national_id, bich.date_of_birth) == (
        "0987654321",
        "034195012345",
        date(1990, 5, 17),
    )
    assert (bich.home_province_code, bich.home_province_raw) == (33, "Thái Bình")
    assert worker("NV003", enterprise_id).phone == "0912000111"
    assert worker("NV010", enterprise_id).full_name == FORMULA_NAME
    assert worker("NV100", enterprise_id).phone == "0966000000"
    assert worker("NV101", enterprise_id).phone is None
    dung = worker("NV004", enterprise_id)
    assert (dung.phone, dung.home_province_code) == (None, 37)
    em = worker("NV005", enterprise_id)
    assert (em.home_province_code, em.home_province_raw) == (None, "Atlantis")
    for code in ("NV007", "NV008"):
        assert db.session.scalar(select(Worker.id).where(Worker.employee_code == code)) is None

    codes = ("NV001", "NV002", "NV003", "NV004", "NV005", "NV010")
    created = [worker(code, enterprise_id) for code in codes]
    assert all(w.badge_token and w.roster_version > version_before for w in created)
    assert worker("NV100", enterprise_id).roster_version > version_before
    versions = [w.roster_version for w in [*created, worker("NV100", enterprise_id)]]
    assert len(set(versions)) == len(versions)

    [entry] = db.session.scalars(select(AuditLog).where(AuditLog.action == "roster.import"))
    assert entry.details == {"filename": "danh sach.xlsx", "created": 6, "updated": 1, "refused": 3}

    assert db.session.scalars(select(RosterImport)).one().rows == []

    again = client.post("/hr/roster/import/commit", data={"key": key}, follow_redirects=True)
    assert "Tệp này đã được nhập rồi." in again.get_data(as_text=True)
    assert count_workers() == 9


def test_commit_plans_again_against_the_roster_as_it_is_then(client, hr):
    page = upload(client, messy_workbook(), "danh sach.xlsx").get_data(as_text=True)
    [key] = KEY.findall(page)
    # Between the dry run and the commit, a colleague adds NV002 by hand.
    make_worker(hr.enterprise, employee_code="NV002", full_name="Trần Thị Bích", phone="0987654321")
    result = client.post("/hr/roster/import/commit", data={"key": key}).get_data(as_text=True)
    assert report_rows(result)[6][0] == "update"
    assert count_workers() == 4 + 5


def test_a_csv_with_semicolons_english_headers_and_a_bom_imports_too(client, hr):
    content = (
        "\ufeffNo.;Full name;Employee code;Phone;Province;Team\r\n"
        "1;Ngô Thị Lan;E-1;84 912 345 679;Bắc Giang;Cắt\r\n"
        "2;@SUM(A1);E-2;+84912345680;TP Hồ Chí Minh;Cắt\r\n"
        ";;;;;\r\n"
    ).encode()
    page = upload(client, content, "roster.csv").get_data(as_text=True)
    assert {line: action for line, (action, _b) in report_rows(page).items()} == {
        2: "create",
        3: "create",
    }
    [key] = KEY.findall(page)
    client.post("/hr/roster/import/commit", data={"key": key})
    lan = worker("E-1", hr.enterprise_id)
    assert (lan.phone, lan.home_province_code, lan.department) == ("0912345679", 24, "Cắt")
    assert worker("E-2", hr.enterprise_id).full_name == "@SUM(A1)"
    assert worker("E-2", hr.enterprise_id).home_province_code == 79


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("roster.xls", b"\xd0\xcf\x11\xe0 old excel", "Chỉ nhập được tệp .csv và .xlsx"),
        ("roster.xlsx", b"PK\x03\x04 not really a zip", "Không đọc được tệp như một bảng tính"),
        ("roster.csv", "Mã;Ghi chú\r\n1;x\r\n".encode(), "Không tìm thấy dòng tiêu đề"),
        ("roster.csv", "Họ và tên;Mã nhân viên\r\n;\r\n".encode(), "không có người nào"),
    ],
)
def test_unusable_files_get_a_message_and_change_nothing(client, hr, filename, content, message):
    response = upload(client, content, filename)
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(RosterImport.id))) == 0
    assert count_workers() == 3


def test_formatted_blank_rows_below_the_data_are_no_rows(client, hr):
    book = Workbook()
    sheet = book.active
    sheet.append(["Họ và tên", "Mã nhân viên"])
    sheet.append(["Mai Thị Hoa", "NV500"])
    for line in range(3, 25_000):
        sheet.cell(row=line, column=1).font = Font(bold=True)
    buffer = io.BytesIO()
    book.save(buffer)
    page = upload(client, buffer.getvalue(), "formatted.xlsx").get_data(as_text=True)
    assert {line: action for line, (action, _b) in report_rows(page).items()} == {2: "create"}


def test_a_file_longer_than_the_limit_is_refused_whole(client, hr):
    lines = "".join(f"Người {n};X{n}\r\n" for n in range(importer.MAX_ROWS + 1))
    response = upload(client, ("Họ và tên;Mã nhân viên\r\n" + lines).encode(), "big.csv")
    assert "hơn 20.000 dòng" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(RosterImport.id))) == 0


def test_nobody_else_can_commit_a_dry_run(client, app, hr):
    page = upload(client, messy_workbook(), "danh sach.xlsx").get_data(as_text=True)
    [key] = KEY.findall(page)
    for intruder in (
        make_user("hr", enterprise=hr.enterprise),
        make_user("hr", enterprise=make_enterprise()),
    ):
        other = app.test_client()
        login(other, intruder)
        response = other.post("/hr/roster/import/commit", data={"key": key}, follow_redirects=True)
        assert "đã hết hạn hoặc không phải của bạn" in response.get_data(as_text=True)
    assert count_workers() == 3


def test_a_dry_run_expires(app, hr):
    table = importer.read_table("r.xlsx", io.BytesIO(messy_workbook()))
    staged = services.stage_import(hr, "r.xlsx", importer.read_sheet(table), now=utcnow())
    later = utcnow() + services.IMPORT_LIFETIME + timedelta(minutes=1)
    with pytest.raises(services.RosterError) as refused:
        services.commit_import(hr, staged.key, now=later, timezone="Asia/Ho_Chi_Minh", ip="")
    assert refused.value.code == "import_expired"
    assert count_workers() == 3


def test_header_row_is_found_below_a_title_block_whatever_the_spelling():
    table = [
        ["DANH SÁCH"],
        [
            "stt",
            "HO VA TEN",
            "so dien thoai",
            "Bộ  Phận",
            "Quê quán",
            "Chỗ ở hiện nay",
            "Mã nhân viên",
        ],
        [1, "A", "0912345678", "Kho", "Thái Bình", "KCN", "X1"],
    ]
    sheet = importer.read_sheet(table)
    assert sheet.layout.header_line == 2
    assert set(sheet.layout.columns) == {
        "full_name",
        "phone",
        "department",
        "hometown",
        "current_address",
        "employee_code",
    }
    [row] = sheet.rows
    planned = importer.plan(sheet.rows, {}, today=date(2026, 1, 1))
    assert planned.rows[0].values["home_province_code"] == 33
    assert row["line"] == 3


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("0912 345 678", "0912345678"),
        ("+84 912.345.678", "0912345678"),
        ("84912345678", "0912345678"),
        ("912345678", "0912345678"),
        ("(024) 3825 1234", "02438251234"),
        ("", None),
    ],
)
def test_phone_numbers_are_stored_as_dialled_at_home(typed, stored):
    assert phone(typed) == stored


@pytest.mark.parametrize("typed", ["12345", "0123456789", "+1 415 555 0100", "09123456789"])
def test_impossible_phone_numbers_are_refused(typed):
    with pytest.raises(InvalidValue):
        phone(typed)
