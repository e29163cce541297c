"""Backfilling a gate's paper log: dry run line by line, deduplication, commit, scoping."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, time, timedelta
from html import unescape
from zoneinfo import ZoneInfo

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditLog, GateEvent, utcnow
from tests.factories import login, make_enterprise, make_event, make_gate, make_user, make_worker

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def site(app):
    """An enterprise with a gate, two workers and a signed-in HR user."""
    enterprise = make_enterprise()
    gate = make_gate(enterprise, code="C1", name="Cổng chính")
    an = make_worker(enterprise, employee_code="NV001", full_name="Nguyễn Văn An")
    binh = make_worker(enterprise, employee_code="NV002", full_name="Trần Thị Bình")
    hr = make_user("hr", enterprise=enterprise)
    return enterprise, gate, an, binh, hr


def yesterday_at(hour: int, minute: int) -> datetime:
    day = utcnow().astimezone(VN).date() - timedelta(days=1)
    return datetime.combine(day, time(hour, minute), tzinfo=VN)


def entry(client, gate, person, direction, at, tolerance=10):
    return client.post(
        "/hr/backfill/entry",
        data={
            "entry-gate_id": gate.id,
            "entry-person": person,
            "entry-direction": direction,
            "entry-at": at.strftime("%Y-%m-%dT%H:%M"),
            "entry-tolerance": tolerance,
        },
    )


def commit_form(page: str) -> dict[str, str]:
    """The hidden fields of the dry run's commit form, as the browser would send them back."""
    fields = {}
    for tag in re.findall(r"<input [^>]*>", page):
        name, value = re.search(r'name="(\w+)"', tag), re.search(r'value="([^"]*)"', tag)
        if 'type="hidden"' in tag and name:
            fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return fields


def paper_events() -> list[GateEvent]:
    return list(
        db.session.scalars(
            select(GateEvent).where(GateEvent.method == "paper").order_by(GateEvent.occurred_at)
        )
    )


def test_a_typed_passage_is_checked_then_saved_as_a_paper_record(client, site) -> None:
    _, gate, an, _, hr = site
    login(client, hr)
    at = yesterday_at(7, 30)

    dry = entry(client, gate, "nv001", "in", at)

    assert dry.status_code == 200
    page = dry.get_data(as_text=True)
    assert "Sẽ được thêm" in page
    assert paper_events() == []

    saved = client.post("/hr/backfill/commit", data=commit_form(page))

    assert saved.status_code == 200
    assert "Đã lưu sổ giấy" in saved.get_data(as_text=True)
    [event] = paper_events()
    assert (event.worker_id, event.direction, event.gate_id) == (an.id, "in", gate.id)
    assert event.device_id is None
    assert event.seq is None
    assert event.occurred_at == at.astimezone(UTC)
    assert event.occurred_offset_minutes == 420
    assert (event.subject_type, event.subject_value, event.subject_kind) == (
        "worker",
        str(an.id),
        "worker",
    )
    assert re.fullmatch(r"[0-9a-f]{64}", event.content_hash)
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "gate_event.backfilled"))
    assert audit.user_id == hr.id
    assert audit.details["added"] == 1
    assert audit.details["event_ids"] == [str(event.id)]


def test_passages_the_tablets_recorded_within_the_tolerance_are_skipped(client, site) -> None:
    _, gate, an, _, hr = site
    make_event(gate, worker=an, occurred_at=yesterday_at(7, 30).astimezone(UTC))
    login(client, hr)

    near = entry(client, gate, "NV001", "in", yesterday_at(7, 38)).get_data(as_text=True)
    far = entry(client, gate, "NV001", "in", yesterday_at(7, 45)).get_data(as_text=True)
    other_way = entry(client, gate, "NV001", "out", yesterday_at(7, 31)).get_data(as_text=True)
    wider = entry(client, gate, "NV001", "in", yesterday_at(7, 45), tolerance=20)

    assert "Bỏ qua: đã được ghi lúc" in near
    assert "máy quét của máy tính bảng" in near
    assert "Sẽ được thêm" in far
    assert "Sẽ được thêm" in other_way
    assert "Bỏ qua: đã được ghi lúc" in wider.get_data(as_text=True)


def test_a_name_only_line_names_the_one_worker_of_that_name_or_stays_text(client, site) -> None:
    _, gate, an, _, hr = site
    login(client, hr)

    page = entry(client, gate, "Nguyễn Văn An", "in", yesterday_at(8, 0)).get_data(as_text=True)
    client.post("/hr/backfill/commit", data=commit_form(page))
    page = entry(client, gate, "Lê Văn Khách", "in", yesterday_at(8, 0)).get_data(as_text=True)
    assert "(không có trong danh sách)" in page
    client.post("/hr/backfill/commit", data=commit_form(page))

    known, stranger = paper_events()
    assert known.worker_id == an.id
    assert (stranger.worker_id, stranger.subject_type, stranger.subject_value) == (
        None,
        "text",
        "Lê Văn Khách",
    )
    assert stranger.subject_kind == "unresolved"


def csv_upload(client, content: str, **fields):
    data = {
        "paper-file": (io.BytesIO(content.encode("utf-8-sig")), "so-cong.csv"),
        "paper-gate_id": "0",
        "paper-tolerance": "10",
        **fields,
    }
    return client.post("/hr/backfill/import", data=data, content_type="multipart/form-data")


def test_a_paper_log_file_is_shown_line_by_line_then_committed_at_once(client, site) -> None:
    _, gate, an, binh, hr = site
    make_event(gate, worker=binh, occurred_at=yesterday_at(7, 2).astimezone(UTC))
    login(client, hr)
    day = yesterday_at(0, 0).strftime("%d/%m/%Y")
    future = (utcnow().astimezone(VN) + timedelta(days=2)).strftime("%d/%m/%Y")
    content = (
        "SỔ THEO DÕI NGƯỜI RA VÀO\n"
        "STT,Họ và tên,Mã NV,Ngày,Giờ vào,Giờ ra,Cổng\n"
        f"1,Nguyễn Văn An,NV001,{day},7h30,17:05,C1\n"
        f"2,Trần Thị Bình,NV002,{day},07:00,,Cổng chính\n"
        f"3,Người Lạ,NV999,{day},08:00,,C1\n"
        f"4,Nguyễn Văn An,NV001,{day},7:33,,C1\n"
        f"5,Phạm Văn C,,{day},9 giờ,,C1\n"
        f"6,Lê Thị D,,{future},08:00,,C1\n"
        f"7,Lê Thị E,,{day},08:00,,Cổng sau\n"
    )

    dry = csv_upload(client, content)

    assert dry.status_code == 200
    page = dry.get_data(as_text=True)
    counts = re.findall(r"<dd>(\d+)</dd>", page)
    # Added: An in and out. Skipped: Bình (the tablet has it), An's second entry (line 4).
    # Refused: an unknown code, an unreadable time, a future day, a gate not of the enterprise.
    assert counts == ["2", "2", "4"]
    assert "Bỏ qua: cùng lượt với dòng 3" in page
    assert "không có người lao động nào trong danh sách mang mã nhân viên này" in page
    assert "không đọc được ngày giờ" in page
    assert "thời điểm ở tương lai" in page
    assert "không có cổng nào của doanh nghiệp mang mã hoặc tên này" in page
    assert paper_events() == []

    client.post("/hr/backfill/commit", data=commit_form(page))

    events = paper_events()
    assert [(e.worker_id, e.direction) for e in events] == [(an.id, "in"), (an.id, "out")]
    assert events[0].occurred_at == yesterday_at(7, 30).astimezone(UTC)
    assert events[1].occurred_at == yesterday_at(17, 5).astimezone(UTC)


def test_an_xlsx_log_with_a_direction_column_and_a_chosen_gate(client, site) -> None:
    _, gate, an, binh, hr = site
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Mã nhân viên", "Vào/Ra", "Giờ"])
    sheet.append(["NV001", "Vào", time(6, 55)])
    sheet.append(["NV002", "ra", time(18, 1)])
    sheet.append(["NV002", "đi", time(18, 2)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    login(client, hr)
    day = yesterday_at(0, 0).date()

    dry = client.post(
        "/hr/backfill/import",
        data={
            "paper-file": (io.BytesIO(buffer.getvalue()), "so.xlsx"),
            "paper-gate_id": str(gate.id),
            "paper-day": day.isoformat(),
            "paper-tolerance": "0",
        },
        content_type="multipart/form-data",
    )

    page = dry.get_data(as_text=True)
    assert re.findall(r"<dd>(\d+)</dd>", page) == ["2", "0", "1"]
    assert "chiều phải là vào hoặc ra" in page
    client.post("/hr/backfill/commit", data=commit_form(page))
    events = paper_events()
    assert [(e.worker_id, e.direction, e.gate_id) for e in events] == [
        (an.id, "in", gate.id),
        (binh.id, "out", gate.id),
    ]


def test_commit_checks_again_and_skips_what_a_tablet_sent_meanwhile(client, site) -> None:
    _, gate, an, _, hr = site
    login(client, hr)
    page = entry(client, gate, "NV001", "in", yesterday_at(7, 30)).get_data(as_text=True)
    make_event(gate, worker=an, occurred_at=yesterday_at(7, 29).astimezone(UTC))

    saved = client.post("/hr/backfill/commit", data=commit_form(page)).get_data(as_text=True)

    assert "Bỏ qua: đã được ghi lúc" in saved
    assert paper_events() == []


def test_another_enterprises_gates_and_workers_are_never_reached(client, site) -> None:
    *_, hr = site
    other = make_enterprise()
    other_gate = make_gate(other, code="X1")
    make_worker(other, employee_code="OT001")
    login(client, hr)
    day = yesterday_at(0, 0).strftime("%d/%m/%Y")
    forged = {
        "tolerance": "10",
        "gate_id": str(other_gate.id),
        "lines": json.dumps(
            [
                {
                    "line": 1,
                    "cells": {
                        "gate": "X1",
                        "code": "OT001",
                        "direction": "in",
                        "date": day,
                        "time": "07:00",
                    },
                },
                {
                    "line": 2,
                    "cells": {"code": "OT001", "direction": "in", "date": day, "time": "07:00"},
                },
            ]
        ),
    }

    page = client.post("/hr/backfill/commit", data=forged).get_data(as_text=True)

    assert re.findall(r"<dd>(\d+)</dd>", page) == ["0", "0", "2"]
    assert db.session.scalar(select(func.count(GateEvent.id))) == 0


@pytest.mark.parametrize(
    "lines", ["not json", "[]", '{"line": 1}', '[{"cells": {}}]', '[{"line": "1"}]']
)
def test_a_broken_commit_changes_nothing(client, site, lines) -> None:
    *_, hr = site
    login(client, hr)

    response = client.post("/hr/backfill/commit", data={"tolerance": "10", "lines": lines})

    assert response.status_code == 400
    assert db.session.scalar(select(func.count(GateEvent.id))) == 0
    assert db.session.scalar(select(func.count(AuditLog.id))) == 0


def test_files_that_are_not_paper_logs_are_refused_with_a_message(client, site) -> None:
    *_, hr = site
    login(client, hr)

    response = csv_upload(client, "a,b,c\n1,2,3\n")

    assert response.status_code == 400
    assert "Không tìm thấy dòng tiêu đề" in response.get_data(as_text=True)


def test_inspectors_cannot_backfill(client, site) -> None:
    _, gate, *_ = site
    assert client.get("/hr/backfill/").status_code == 302
    login(client, make_user("inspector"))
    assert entry(client, gate, "NV001", "in", yesterday_at(7, 0)).status_code == 403


def test_commit_lines_without_usable_cells_are_refused_not_a_crash(client, site) -> None:
    *_, hr = site
    login(client, hr)
    lines = json.dumps([{"line": 1}, {"line": 2, "cells": [1, 2]}, {"line": 3, "cells": {"x": {}}}])

    response = client.post("/hr/backfill/commit", data={"tolerance": "10", "lines": lines})

    assert response.status_code == 200
    assert re.findall(r"<dd>(\d+)</dd>", response.get_data(as_text=True)) == ["0", "0", "3"]
    assert db.session.scalar(select(func.count(GateEvent.id))) == 0
