"""The roll-call page: who is inside across gates now, and the roll calls tablets sent."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.hr.rollcall import routes as rollcall_routes
from server.models import AuditLog, ConfigValue, RollCallEntry, utcnow
from tests.factories import (
    login,
    make_enterprise,
    make_event,
    make_gate,
    make_roll_call,
    make_user,
    make_visitor_pass,
    make_worker,
    make_zone,
)


@pytest.fixture
def site(app):
    enterprise = make_enterprise(name="Công ty May Bắc Ninh")
    return {
        "enterprise": enterprise,
        "gate": make_gate(enterprise, code="G1", name="Cổng chính"),
        "hr": make_user("hr", enterprise=enterprise),
    }


def test_the_page_lists_who_is_inside_by_department_and_the_roll_calls_received(client, site):
    enterprise, gate = site["enterprise"], site["gate"]
    now = utcnow()
    sewing = make_worker(enterprise, full_name="Nguyễn Thị Hoa", department="May 1")
    stock = make_worker(enterprise, full_name="Vũ Văn Kho", department="Kho")
    gone = make_worker(enterprise, full_name="Bùi Văn Về", department="Kho")
    make_event(gate, worker=sewing, occurred_at=now - timedelta(hours=1))
    make_event(gate, worker=stock, occurred_at=now - timedelta(hours=2))
    make_event(gate, worker=gone, occurred_at=now - timedelta(hours=3))
    make_event(gate, worker=gone, occurred_at=now - timedelta(hours=1), direction="out")
    visitor_pass = make_visitor_pass(enterprise, full_name="Đinh Khách")
    make_event(
        gate,
        visitor_pass=visitor_pass,
        occurred_at=now - timedelta(minutes=20),
    )
    roll_call = make_roll_call(enterprise=enterprise, gate=gate)
    other = make_enterprise(name="Công ty Khác")
    make_roll_call(enterprise=other)
    outsider = make_worker(other, full_name="Người Công Ty Khác")
    make_event(make_gate(other), worker=outsider, occurred_at=now - timedelta(hours=1))

    login(client, site["hr"])
    page = client.get("/hr/rollcall").get_data(as_text=True)
    assert "Điểm danh sơ tán" in page
    assert '<dd id="inside-count">3</dd>' in page
    for name in ("Nguyễn Thị Hoa", "Vũ Văn Kho", "Đinh Khách"):
        assert name in page
    assert "Bùi Văn Về" not in page
    assert "Người Công Ty Khác" not in page
    assert page.index("Kho (1)") < page.index("May 1 (1)") < page.index("Khách (1)")
    assert page.count("data-roll-call=") == 1
    assert f'data-roll-call="{roll_call.id}"' in page
    assert "1 / 2" in page

    client.post("/auth/language/en", data={"next": "/hr/rollcall"})
    english = client.get("/hr/rollcall").get_data(as_text=True)
    assert "Evacuation roll call" in english
    assert "Inside now, by department" in english


def test_a_roll_call_shows_who_was_not_seen_first_and_its_viewing_is_audited(client, site):
    roll_call = make_roll_call(enterprise=site["enterprise"], gate=site["gate"])
    login(client, site["hr"])
    response = client.get(f"/hr/rollcall/{roll_call.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    missing, seen = page.index('id="missing"'), page.index('id="seen"')
    assert missing < page.index("Khách A") < seen < page.index("Khách B")
    assert "Chưa có mặt ở điểm tập trung (1)" in page
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "rollcall.viewed")).one()
    assert audit.target_id == str(roll_call.id)


def test_another_enterprises_roll_call_is_not_found(client, site):
    foreign = make_roll_call(enterprise=make_enterprise())
    login(client, site["hr"])
    assert client.get(f"/hr/rollcall/{foreign.id}").status_code == 404
    assert client.get("/hr/rollcall/999999").status_code == 404
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "rollcall.viewed")) is None


def test_only_hr_reaches_the_roll_call_pages(client, site):
    roll_call = make_roll_call(enterprise=site["enterprise"], gate=site["gate"])
    for url in ("/hr/rollcall", f"/hr/rollcall/{roll_call.id}"):
        assert client.get(url).status_code == 302
    inspector = make_user("inspector", zones=(make_zone(),))
    login(client, inspector)
    assert client.get("/hr/rollcall").status_code == 403
    assert client.get(f"/hr/rollcall/{roll_call.id}").status_code == 403


NAMES = ("Vào Một Giờ Trước", "Vào Sáu Giờ Trước")


def test_the_maximum_stay_the_admin_set_decides_who_is_counted_inside(client, site):
    enterprise, gate = site["enterprise"], site["gate"]
    now = utcnow()
    recent, earlier = (make_worker(enterprise, full_name=name) for name in NAMES)
    make_event(gate, worker=recent, occurred_at=now - timedelta(hours=1))
    make_event(gate, worker=earlier, occurred_at=now - timedelta(hours=6))
    db.session.add(ConfigValue(key="shift_hours", value=4))
    db.session.commit()

    login(client, site["hr"])
    page = client.get("/hr/rollcall").get_data(as_text=True)

    # Beyond the maximum stay a person is still called, flagged as having no exit recorded.
    row_of = {name: next(row for row in page.split("<tr") if name in row) for name in NAMES}
    assert "chưa ghi nhận ra" not in row_of["Vào Một Giờ Trước"]
    assert "chưa ghi nhận ra" in row_of["Vào Sáu Giờ Trước"]


def test_the_live_list_marks_who_any_tablet_ticked_off_in_todays_roll_calls(client, site):
    enterprise, gate = site["enterprise"], site["gate"]
    now = utcnow()
    seen = make_worker(enterprise, full_name="Đã Tới Điểm Tập Trung")
    missing = make_worker(enterprise, full_name="Chưa Tới Điểm Tập Trung")
    visitor_pass = make_visitor_pass(enterprise, full_name="Khách A")
    for worker in (seen, missing):
        make_event(gate, worker=worker, occurred_at=now - timedelta(hours=2))
    make_event(
        gate,
        visitor_pass=visitor_pass,
        occurred_at=now - timedelta(hours=1),
    )
    side = make_gate(enterprise, code="G2", name="Cổng phụ")
    # Today's roll call at the side gate: Khách B ticked, plus the first worker.
    today = make_roll_call(enterprise=enterprise, gate=side)
    today.entries.append(
        RollCallEntry(person_key=f"w:{seen.id}", kind="worker", name=seen.full_name, ticked_at=now)
    )
    # Yesterday's drill ticked the second worker, another enterprise's tablet the same key.
    drill = make_roll_call(enterprise=enterprise, gate=gate, started_at=now - timedelta(days=1))
    drill.entries.append(
        RollCallEntry(person_key=f"w:{missing.id}", kind="worker", name="x", ticked_at=now)
    )
    foreign = make_roll_call(enterprise=make_enterprise())
    foreign.entries.append(
        RollCallEntry(person_key=f"w:{missing.id}", kind="worker", name="x", ticked_at=now)
    )
    db.session.commit()

    login(client, site["hr"])
    page = client.get("/hr/rollcall").get_data(as_text=True)

    def row(key: str) -> str:
        return next(part for part in page.split("<tr") if f'data-key="{key}"' in part)

    assert 'data-seen="yes"' in row(f"w:{seen.id}")
    assert "G2 · Cổng phụ" in row(f"w:{seen.id}")
    assert 'data-seen="no"' in row(f"w:{missing.id}")
    assert "Chưa thấy" in row(f"w:{missing.id}")
    # Khách A was not ticked today (the factory's roll call ticked Khách B only).
    assert 'data-seen="no"' in row("v:khach a")
    assert '<dd id="not-seen-count" class="status-bad">2</dd>' in page


def test_a_large_site_counts_by_department_and_names_one_department_not_seen_first(
    client, site, monkeypatch
):
    monkeypatch.setattr(rollcall_routes, "LISTED_PEOPLE", 2)
    enterprise, gate = site["enterprise"], site["gate"]
    now = utcnow()
    sewing = [make_worker(enterprise, full_name=f"Thợ May {n}", department="May 1") for n in "ABC"]
    stock = make_worker(enterprise, full_name="Thủ Kho", department="Kho")
    for worker in (*sewing, stock):
        make_event(gate, worker=worker, occurred_at=now - timedelta(hours=1))
    today = make_roll_call(enterprise=enterprise, gate=gate)
    today.entries.append(
        RollCallEntry(person_key=f"w:{sewing[0].id}", kind="worker", name="x", ticked_at=now)
    )
    db.session.commit()
    login(client, site["hr"])

    overview = client.get("/hr/rollcall").get_data(as_text=True)
    assert '<dd id="inside-count">4</dd>' in overview
    assert '<dd id="not-seen-count" class="status-bad">3</dd>' in overview
    assert "data-key=" not in overview
    counts = {
        part.split('"')[0]: part.split("</tr>")[0] for part in overview.split('data-group="')[1:]
    }
    assert re.findall(r">(\d+)</td>", counts["May 1"]) == ["3", "2", "0"]
    assert re.findall(r">(\d+)</td>", counts["Kho"]) == ["1", "1", "0"]

    sewing_page = client.get("/hr/rollcall?group=May 1").get_data(as_text=True)
    listed = re.findall(r'data-key="([^"]+)" data-seen="(\w+)"', sewing_page)
    # Two of three named, both not yet seen: those are the ones to look for.
    assert listed == [(f"w:{sewing[1].id}", "no"), (f"w:{sewing[2].id}", "no")]
    assert "Đang hiển thị 2 trên 3 người" in sewing_page
    assert "Thủ Kho" not in sewing_page

    nobody = client.get("/hr/rollcall?group=Không có").get_data(as_text=True)
    assert "không có ai của bộ phận này ở bên trong" in nobody
    assert "data-key=" not in nobody


def test_the_roll_call_download_names_everyone_inside_with_who_was_seen_and_is_audited(
    client, site
):
    enterprise, gate = site["enterprise"], site["gate"]
    now = utcnow()
    seen = make_worker(enterprise, full_name="=Đã Thấy", department="Kho")
    missing = make_worker(enterprise, full_name="Chưa Thấy", department="May 1")
    for worker in (seen, missing):
        make_event(gate, worker=worker, occurred_at=now - timedelta(hours=1))
    make_event(
        gate, visitor_pass=make_visitor_pass(enterprise, full_name="Khách Lạ"), occurred_at=now
    )
    other = make_enterprise()
    outsider = make_worker(other, full_name="Người Công Ty Khác")
    make_event(make_gate(other), worker=outsider, occurred_at=now)
    today = make_roll_call(enterprise=enterprise, gate=gate)
    today.entries.append(
        RollCallEntry(person_key=f"w:{seen.id}", kind="worker", name="x", ticked_at=now)
    )
    db.session.commit()
    login(client, site["hr"])

    response = client.get("/hr/rollcall/export.csv", buffered=True)

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    by_name = {row[1]: row for row in rows[1:]}
    assert [row[1] for row in rows[1:]] == ["'=Đã Thấy", "Chưa Thấy", "Khách Lạ"]
    assert by_name["Chưa Thấy"][0] == "May 1"
    assert by_name["Chưa Thấy"][6] == "Chưa thấy"
    assert by_name["'=Đã Thấy"][7] == "G1 · Cổng chính"
    assert by_name["Khách Lạ"][0] == "Khách"
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "export_rollcall"))
    assert audit.details == {"format": "csv"}
    assert client.get("/hr/rollcall/export.xlsx", buffered=True).status_code == 200
