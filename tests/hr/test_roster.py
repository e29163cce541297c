"""The roster pages: search, create, edit, deactivate, export; scoped and audited."""

from __future__ import annotations

import csv
import io
import unicodedata

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditLog, Enterprise, GateEvent, Worker
from tests.factories import login, make_enterprise, make_event, make_gate, make_user, make_worker


@pytest.fixture
def hr(client):
    """An HR user of a fresh enterprise, signed in on `client`."""
    enterprise = make_enterprise()
    user = make_user("hr", enterprise=enterprise)
    login(client, user)
    return user


def roster_version(enterprise_id: int) -> int:
    return db.session.get(Enterprise, enterprise_id).roster_version


def audit_actions(action: str) -> list[AuditLog]:
    return list(db.session.scalars(select(AuditLog).where(AuditLog.action == action)))


def worker_by_code(code: str) -> Worker:
    db.session.expire_all()
    return db.session.scalars(select(Worker).where(Worker.employee_code == code)).one()


def test_search_finds_names_without_accents_codes_phones_and_departments(client, hr):
    enterprise = hr.enterprise
    make_worker(enterprise, full_name="Nguyễn Văn Đức", employee_code="NV001", phone="0912345678")
    make_worker(enterprise, full_name="Trần Thị Hoa", employee_code="NV002", department="Kho")
    make_worker(enterprise, full_name="Lê Minh", employee_code="KT-77", phone="0987000111")
    other = make_enterprise()
    make_worker(other, full_name="Nguyễn Văn Đức Khác", employee_code="NV001")

    def names(**args):
        page = client.get("/hr/roster/", query_string=args).get_data(as_text=True)
        return {n for n in ("Nguyễn Văn Đức", "Trần Thị Hoa", "Lê Minh", "Đức Khác") if n in page}

    assert names(q="nguyen van duc") == {"Nguyễn Văn Đức"}
    assert names(q="ĐỨC") == {"Nguyễn Văn Đức"}
    assert names(q="kt-77") == {"Lê Minh"}
    assert names(q="+84 987 000") == {"Lê Minh"}
    assert names(q="0912 345") == {"Nguyễn Văn Đức"}
    assert names(q="kho") == {"Trần Thị Hoa"}
    assert names(department="Kho") == {"Trần Thị Hoa"}
    assert names() == {"Nguyễn Văn Đức", "Trần Thị Hoa", "Lê Minh"}
    assert names(q="50%_") == set()


def test_list_is_paginated_and_shows_only_the_last_phone_digits(client, hr):
    for n in range(55):
        make_worker(hr.enterprise, employee_code=f"NV{n:03d}", phone=f"09{n:08d}")
    first = client.get("/hr/roster/").get_data(as_text=True)
    second = client.get("/hr/roster/?page=2").get_data(as_text=True)
    assert "NV000" in first
    assert "NV049" in first
    assert "NV050" not in first
    assert "NV050" in second
    assert "NV054" in second
    assert "NV000" not in second
    assert "Trang 1 / 2" in first
    assert "0900000001" not in first
    assert "•••0001" in first


def test_inactive_workers_are_listed_only_when_asked(client, hr):
    make_worker(hr.enterprise, full_name="Phạm Đã Nghỉ", active=False)
    make_worker(hr.enterprise, full_name="Vũ Đang Làm")
    active = client.get("/hr/roster/").get_data(as_text=True)
    inactive = client.get("/hr/roster/?status=inactive").get_data(as_text=True)
    assert "Vũ Đang Làm" in active
    assert "Phạm Đã Nghỉ" not in active
    assert "Phạm Đã Nghỉ" in inactive
    assert "Vũ Đang Làm" not in inactive


def test_create_cleans_every_field_and_issues_a_badge(client, hr):
    before = roster_version(hr.enterprise_id)
    response = client.post(
        "/hr/roster/new",
        data={
            "full_name": unicodedata.normalize("NFD", "  Hoàng   Thị Ngọc  "),
            "employee_code": "nv-0042",
            "phone": "+84 912 345 678",
            "national_id": "34195012345",
            "date_of_birth": "1995-03-08",
            "department": "May 2",
            "home_province": "Thái Bình",
            "permanent_address": "Xã Đông Hưng, Huyện Đông Hưng, Tỉnh Thái Bình",
            "current_address": "KCN Yên Phong",
        },
    )
    assert response.status_code == 302
    worker = worker_by_code("NV-0042")
    assert worker.full_name == "Hoàng Thị Ngọc"
    assert unicodedata.is_normalized("NFC", worker.full_name)
    assert worker.search_name == "hoang thi ngoc"
    assert worker.phone == "0912345678"
    assert worker.national_id == "034195012345"
    assert worker.date_of_birth.isoformat() == "1995-03-08"
    assert worker.home_province_code == 33  # Thái Bình merged into Hưng Yên in 2025
    assert worker.home_province_raw == "Thái Bình"
    assert worker.badge_token
    assert len(worker.badge_token) == 20
    assert worker.roster_version > before
    assert response.headers["Location"].endswith(f"/hr/roster/{worker.id}")
    [entry] = audit_actions("worker.create")
    assert entry.target_id == str(worker.id)
    assert entry.user_id == hr.id


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "12345", "không phải số điện thoại Việt Nam"),
        ("date_of_birth", "32/13/1990", "không phải ngày sinh"),
        ("national_id", "12AB", "12 chữ số"),
        ("employee_code", "NV 01", "mã nhân viên chỉ gồm"),
    ],
)
def test_create_refuses_bad_values_with_a_message_and_writes_nothing(
    client, hr, field, value, message
):
    data = {"full_name": "Đỗ Văn Sai", "employee_code": "NV9", field: value}
    page = client.post("/hr/roster/new", data=data)
    assert page.status_code == 200
    assert message in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Worker.id))) == 0


@pytest.mark.parametrize("data", [{}, {"full_name": "", "employee_code": "", "phone": ""}])
def test_an_empty_form_is_refused_for_its_name_and_code_and_writes_nothing(client, hr, data):
    page = client.post("/hr/roster/new", data=data)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "thiếu họ và tên" in text
    assert "thiếu mã nhân viên" in text
    assert db.session.scalar(select(func.count(Worker.id))) == 0


def test_an_address_naming_no_province_is_kept_as_written_and_flagged(client, hr):
    data = {"full_name": "Đỗ Văn Xa", "employee_code": "NV9", "home_province": "Vientiane, Lào"}
    response = client.post("/hr/roster/new", data=data)
    assert response.status_code == 302
    worker = db.session.scalars(select(Worker)).one()
    assert (worker.home_province_code, worker.home_province_raw) == (None, "Vientiane, Lào")
    page = client.get(f"/hr/roster/{worker.id}").get_data(as_text=True)
    assert "chưa nhận ra: hãy kiểm tra địa chỉ" in page


def test_create_refuses_a_code_already_on_the_roster(client, hr):
    make_worker(hr.enterprise, employee_code="NV7")
    version = roster_version(hr.enterprise_id)
    page = client.post("/hr/roster/new", data={"full_name": "Ai Đó", "employee_code": "nv7"})
    assert "Một người khác đã có mã nhân viên này." in page.get_data(as_text=True)
    assert db.session.scalar(select(func.count(Worker.id))) == 1
    assert roster_version(hr.enterprise_id) == version


def test_viewing_and_opening_the_edit_form_are_audited(client, hr):
    worker = make_worker(hr.enterprise, phone="0911222333")
    page = client.get(f"/hr/roster/{worker.id}").get_data(as_text=True)
    assert "0911222333" in page
    client.get(f"/hr/roster/{worker.id}/edit")
    views = audit_actions("worker.view")
    assert [(v.target_id, v.user_id, v.enterprise_id) for v in views] == [
        (str(worker.id), hr.id, hr.enterprise_id)
    ] * 2


def test_edit_saves_changes_and_bumps_the_version_only_when_something_changed(client, hr):
    worker = make_worker(hr.enterprise, employee_code="NV1", full_name="Bùi Văn Cũ")
    created_version = worker.roster_version
    form = {"full_name": "Bùi Văn Mới", "employee_code": "NV1", "department": "Cắt"}
    assert client.post(f"/hr/roster/{worker.id}/edit", data=form).status_code == 302
    changed = worker_by_code("NV1")
    assert (changed.full_name, changed.search_name, changed.department) == (
        "Bùi Văn Mới",
        "bui van moi",
        "Cắt",
    )
    version = changed.roster_version
    assert version > created_version
    [update] = audit_actions("worker.update")
    assert set(update.details["fields"]) >= {"full_name", "department"}

    client.post(f"/hr/roster/{worker.id}/edit", data=form)
    assert worker_by_code("NV1").roster_version == version
    assert len(audit_actions("worker.update")) == 1


def test_edit_cannot_take_another_workers_code(client, hr):
    make_worker(hr.enterprise, employee_code="NV1")
    worker = make_worker(hr.enterprise, employee_code="NV2", full_name="Giữ Nguyên")
    page = client.post(
        f"/hr/roster/{worker.id}/edit", data={"full_name": "Đổi Tên", "employee_code": "NV1"}
    )
    assert "Một người khác đã có mã nhân viên này." in page.get_data(as_text=True)
    assert worker_by_code("NV2").full_name == "Giữ Nguyên"


def test_deactivate_keeps_the_worker_and_events_and_reactivate_restores(client, hr):
    gate = make_gate(hr.enterprise)
    worker = make_worker(hr.enterprise, employee_code="NV1")
    make_event(gate, worker=worker)
    version = worker.roster_version

    client.post(f"/hr/roster/{worker.id}/deactivate")
    deactivated = worker_by_code("NV1")
    assert deactivated.active is False
    assert deactivated.roster_version > version
    version = deactivated.roster_version
    client.post(f"/hr/roster/{worker.id}/reactivate")
    reactivated = worker_by_code("NV1")
    assert reactivated.active is True
    assert reactivated.roster_version > version
    assert db.session.scalar(select(func.count()).select_from(GateEvent)) == 1
    assert [a.action for a in db.session.scalars(select(AuditLog).order_by(AuditLog.id))] == [
        "worker.deactivate",
        "worker.activate",
    ]


def test_csv_export_is_neutralised_filtered_and_audited(client, hr):
    make_worker(
        hr.enterprise,
        employee_code="NV1",
        full_name='=HYPERLINK("http://x")',
        phone="0912345678",
        home_province_code=24,
        home_province_raw="Bắc Giang",
        department="May 1",
    )
    make_worker(hr.enterprise, employee_code="NV2", full_name="Đặng Thu Trang", department="Kho")
    make_worker(make_enterprise(), employee_code="NV3", full_name="Người Công Ty Khác")
    response = client.get("/hr/roster/export.csv?department=May+1", buffered=True)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    assert rows[0][:3] == ["Mã nhân viên", "Họ và tên", "Số điện thoại"]
    assert len(rows) == 2
    assert rows[1][:3] == ["NV1", '\'=HYPERLINK("http://x")', "0912345678"]
    assert rows[1][7:9] == ["Bắc Ninh", "Bắc Giang"]
    [entry] = audit_actions("roster.export")
    assert entry.details["format"] == "csv"
    assert entry.details["department"] == "May 1"


def test_xlsx_export_keeps_a_formula_like_name_as_text(client, hr):
    make_worker(hr.enterprise, employee_code="NV1", full_name="=1+1", phone="0912345678")
    response = client.get("/hr/roster/export.xlsx", buffered=True)
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert sheet.title == "Danh sách lao động"
    assert sheet["A2"].value == "NV1"
    assert sheet["B2"].value == "=1+1"
    assert sheet["B2"].data_type == "s"
    assert audit_actions("roster.export")[0].details["format"] == "xlsx"


ROUTES = [
    ("get", "/hr/roster/{worker_id}"),
    ("get", "/hr/roster/{worker_id}/edit"),
    ("post", "/hr/roster/{worker_id}/edit"),
    ("post", "/hr/roster/{worker_id}/deactivate"),
    ("post", "/hr/roster/{worker_id}/reactivate"),
    ("post", "/hr/roster/{worker_id}/badge/reissue"),
    ("get", "/hr/roster/{worker_id}/badge"),
]


@pytest.mark.parametrize(("method", "url"), ROUTES)
def test_another_enterprises_worker_is_not_found_and_unchanged(client, hr, method, url):
    stranger = make_worker(make_enterprise(), full_name="Người Lạ", employee_code="X1")
    token, version = stranger.badge_token, stranger.roster_version
    response = getattr(client, method)(
        url.format(worker_id=stranger.id), data={"full_name": "Đổi", "employee_code": "X1"}
    )
    assert response.status_code == 404
    db.session.expire_all()
    assert (stranger.full_name, stranger.badge_token, stranger.active, stranger.roster_version) == (
        "Người Lạ",
        token,
        True,
        version,
    )


def test_other_enterprises_workers_stay_out_of_lists_exports_and_badge_sheets(client, hr):
    mine = make_worker(hr.enterprise, full_name="Của Mình")
    theirs = make_worker(make_enterprise(), full_name="Của Người Ta")
    pages = [
        client.get("/hr/roster/?status=all").get_data(as_text=True),
        client.get("/hr/roster/export.csv?status=all", buffered=True).get_data().decode(),
        client.get(f"/hr/roster/badges?worker={mine.id}&worker={theirs.id}").get_data(True),
    ]
    for page in pages:
        assert "Của Mình" in page
        assert "Của Người Ta" not in page


def test_inspectors_cannot_read_the_roster(client):
    enterprise = make_enterprise()
    make_worker(enterprise)
    login(client, make_user("inspector"))
    assert client.get("/hr/roster/").status_code == 403
