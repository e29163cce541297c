"""The gate log: filters, keyset pages, timelines, unknown people, quarantine."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from server.extensions import db
from server.hr.activity.services import PAGE_SIZE, LogFilter, filtered_events, log_page
from server.models import AuditLog, GateEvent, QuarantinedEvent, Visitor
from tests.factories import (
    login,
    make_device,
    make_enterprise,
    make_event,
    make_gate,
    make_user,
    make_worker,
)

TZ = "Asia/Ho_Chi_Minh"
NOON = datetime(2026, 3, 10, 5, 0, tzinfo=UTC)  # 12:00 in Hà Nội


@pytest.fixture
def site(app, client):
    """One enterprise with two gates, a tablet, a worker, and its HR user signed in."""
    enterprise = make_enterprise()
    gate = make_gate(enterprise, code="G1", name="Cổng chính")
    side_gate = make_gate(enterprise, code="G2", name="Cổng phụ")
    device, _token = make_device(gate, label="Máy cổng chính")
    worker = make_worker(enterprise, full_name="Nguyễn Văn Đức", employee_code="NV001")
    hr = make_user("hr", enterprise=enterprise)
    login(client, hr)
    return {
        "enterprise": enterprise,
        "gate": gate,
        "side_gate": side_gate,
        "device": device,
        "worker": worker,
        "hr": hr,
    }


def ids(query) -> list[uuid.UUID]:
    return [row.id for row in db.session.execute(query)]


def test_log_shows_the_enterprise_events_newest_first_in_local_time(site, client):
    make_event(site["gate"], worker=site["worker"], occurred_at=NOON)
    make_event(
        site["gate"], worker=site["worker"], occurred_at=NOON + timedelta(hours=1), direction="out"
    )
    other = make_enterprise()
    make_event(make_gate(other), subject_value="Người của công ty khác")

    html = client.get("/hr/log").get_data(as_text=True)

    assert "10/03/2026 12:00:00" in html
    assert "10/03/2026 13:00:00" in html
    assert html.index("13:00:00") < html.index("12:00:00")
    assert "Người của công ty khác" not in html


def test_log_keeps_the_offset_the_tablet_stated(site, client):
    # A tablet set to UTC+01:00 recorded 06:00 on its own clock: 12:00 in Hà Nội.
    make_event(site["gate"], worker=site["worker"], occurred_at=NOON, occurred_offset_minutes=60)

    html = client.get("/hr/log").get_data(as_text=True)

    assert "10/03/2026 12:00:00" in html
    assert "10/03 06:00:00 UTC+01:00" in html


def test_date_range_uses_local_days(site):
    late_evening = datetime(2026, 3, 10, 16, 30, tzinfo=UTC)  # 23:30 on 10/03 in Hà Nội
    just_after_midnight = datetime(2026, 3, 10, 17, 5, tzinfo=UTC)  # 00:05 on 11/03
    evening = make_event(site["gate"], occurred_at=late_evening)
    night = make_event(site["gate"], occurred_at=just_after_midnight)

    def matching(**fields):
        return ids(filtered_events(site["hr"], LogFilter(**fields), timezone=TZ))

    assert matching(day_from=date(2026, 3, 10), day_to=date(2026, 3, 10)) == [evening.id]
    assert matching(day_from=date(2026, 3, 11)) == [night.id]
    assert matching(day_to=date(2026, 3, 11)) == [night.id, evening.id]


def test_each_filter_narrows_the_log(site):
    gate, side_gate, device, worker = (
        site["gate"],
        site["side_gate"],
        site["device"],
        site["worker"],
    )
    base = make_event(gate, worker=worker, device=device, occurred_at=NOON)
    at_side_gate = make_event(side_gate, worker=worker, occurred_at=NOON + timedelta(minutes=1))
    going_out = make_event(
        gate, worker=worker, direction="out", occurred_at=NOON + timedelta(minutes=2)
    )
    by_camera = make_event(
        gate, worker=worker, method="camera", occurred_at=NOON + timedelta(minutes=3)
    )
    unknown = make_event(
        gate, subject_value="Anh giao hàng", occurred_at=NOON + timedelta(minutes=4)
    )
    flagged = make_event(
        gate, worker=worker, flags=["clock_skew"], occurred_at=NOON + timedelta(minutes=5)
    )
    late = make_event(
        gate,
        worker=worker,
        occurred_at=NOON + timedelta(minutes=6),
        received_at=NOON + timedelta(hours=3),
    )

    def matching(**fields):
        return set(ids(filtered_events(site["hr"], LogFilter(**fields), timezone=TZ)))

    everything = {
        base.id,
        at_side_gate.id,
        going_out.id,
        by_camera.id,
        unknown.id,
        flagged.id,
        late.id,
    }
    assert matching() == everything
    assert matching(gate_id=side_gate.id) == {at_side_gate.id}
    assert matching(device_id=device.id) == {base.id}
    assert matching(direction="out") == {going_out.id}
    assert matching(method="camera") == {by_camera.id}
    assert matching(unresolved_only=True) == {unknown.id}
    assert matching(flagged_only=True) == {flagged.id}
    assert matching(min_lag_seconds=3600) == {late.id}
    assert matching(worker_id=worker.id) == everything - {unknown.id}


def test_person_filter_ignores_accents_and_case_and_matches_codes(site):
    other = make_worker(site["enterprise"], full_name="Trần Thị Lan", employee_code="NV777")
    duc = make_event(site["gate"], worker=site["worker"], occurred_at=NOON)
    lan = make_event(site["gate"], worker=other, occurred_at=NOON)
    typed = make_event(site["gate"], subject_value="Chú Đức bảo vệ", occurred_at=NOON)

    def matching(text):
        return set(ids(filtered_events(site["hr"], LogFilter(person=text), timezone=TZ)))

    assert matching("nguyen van duc") == {duc.id}
    assert matching("ĐỨC") >= {duc.id}
    assert matching("nv777") == {lan.id}
    assert matching("bảo vệ") == {typed.id}
    assert matching("100%_") == set()


def test_keyset_pages_skip_and_repeat_nothing_when_times_are_equal(site):
    same_instant = [make_event(site["gate"], occurred_at=NOON) for _ in range(7)]
    others = [make_event(site["gate"], occurred_at=NOON - timedelta(minutes=n)) for n in (1, 2, 3)]
    expected = ids(filtered_events(site["hr"], LogFilter(), timezone=TZ))
    assert set(expected) == {event.id for event in same_instant + others}

    seen, cursor, pages = [], None, 0
    while True:
        page = log_page(site["hr"], LogFilter(), timezone=TZ, cursor=cursor, size=3)
        seen += [row.id for row in page.rows]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break

    assert seen == expected
    assert pages == 4


def test_next_page_link_carries_the_filters(site, client):
    for n in range(PAGE_SIZE + 2):
        make_event(site["gate"], occurred_at=NOON - timedelta(minutes=n), direction="in")
    make_event(site["gate"], occurred_at=NOON, direction="out")

    first = client.get("/hr/log?direction=in").get_data(as_text=True)
    assert "cursor=" in first
    link = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(link).get_data(as_text=True)

    assert "direction=in" in link
    assert second.count('class="dir dir-in"') == 2
    assert 'class="dir dir-out"' not in second


def test_a_broken_page_link_shows_the_first_page_with_a_message(site, client):
    make_event(site["gate"], worker=site["worker"], occurred_at=NOON)

    response = client.get("/hr/log?cursor=not-a-cursor")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "10/03/2026 12:00:00" in html
    assert 'class="flash flash-warning"' in html


def test_bad_filters_get_a_message_and_no_results(site, client):
    make_event(site["gate"], worker=site["worker"], occurred_at=NOON)

    response = client.get("/hr/log?day_from=2026-03-10&day_to=2026-03-01&gate_id=abc")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'class="error"' in html
    assert "10/03/2026 12:00:00" not in html


def test_another_enterprise_gate_is_not_a_filter_choice(site, client):
    other_gate = make_gate(make_enterprise())
    make_event(other_gate, occurred_at=NOON, subject_value="Khách công ty B")

    html = client.get(f"/hr/log?gate_id={other_gate.id}").get_data(as_text=True)

    assert "Khách công ty B" not in html
    assert 'class="error"' in html


def test_timeline_lists_one_person_and_is_audited(site, client):
    worker = site["worker"]
    make_event(site["gate"], worker=worker, occurred_at=NOON)
    make_event(site["gate"], subject_value="Người khác", occurred_at=NOON)

    response = client.get(f"/hr/log/people/{worker.id}")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nguyễn Văn Đức" in html
    assert "Người khác" not in html
    audit = db.session.scalars(select(AuditLog).where(AuditLog.action == "view_timeline")).all()
    assert [(entry.target_type, entry.target_id, entry.user_id) for entry in audit] == [
        ("worker", str(worker.id), site["hr"].id)
    ]


def test_timeline_of_another_enterprise_worker_is_404_and_not_audited(site, client):
    stranger = make_worker(make_enterprise())

    assert client.get(f"/hr/log/people/{stranger.id}").status_code == 404
    assert db.session.scalar(select(AuditLog)) is None


def test_unknown_badge_is_resolved_to_a_worker_and_audited(site, client):
    event = make_event(
        site["gate"], subject_type="badge", subject_value="OLDBADGE", occurred_at=NOON
    )
    assert "OLDBADGE" in client.get("/hr/log/unresolved").get_data(as_text=True)

    response = client.post(f"/hr/log/events/{event.id}/resolve", data={"employee_code": " NV001 "})

    assert response.status_code == 302
    db.session.expire_all()
    stored = db.session.get(GateEvent, event.id)
    assert stored.worker_id == site["worker"].id
    assert stored.subject_kind == "worker"
    assert stored.subject_value == "OLDBADGE"
    assert stored.resolved_by_id == site["hr"].id
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "resolve_event"))
    assert audit.target_id == str(event.id)
    assert audit.details["worker_id"] == site["worker"].id
    assert "OLDBADGE" not in client.get("/hr/log/unresolved").get_data(as_text=True)


def test_resolving_to_an_unknown_code_changes_nothing(site, client):
    event = make_event(site["gate"], subject_value="Khách lạ", occurred_at=NOON)
    stranger = make_worker(make_enterprise(), employee_code="NV999")

    response = client.post(
        f"/hr/log/events/{event.id}/resolve",
        data={"employee_code": stranger.employee_code},
        follow_redirects=True,
    )

    assert "NV999" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(GateEvent, event.id).worker_id is None
    assert db.session.scalar(select(AuditLog)) is None


def test_an_event_already_linked_is_not_resolved_again(site, client):
    event = make_event(site["gate"], worker=site["worker"], occurred_at=NOON)
    other = make_worker(site["enterprise"], employee_code="NV002")

    response = client.post(
        f"/hr/log/events/{event.id}/resolve",
        data={"employee_code": other.employee_code},
        follow_redirects=True,
    )

    assert 'class="flash flash-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(GateEvent, event.id).worker_id == site["worker"].id


def test_another_enterprise_event_cannot_be_resolved(site, client):
    event = make_event(make_gate(make_enterprise()), subject_value="X", occurred_at=NOON)

    response = client.post(f"/hr/log/events/{event.id}/resolve", data={"employee_code": "NV001"})

    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(GateEvent, event.id).worker_id is None


def test_quarantined_events_show_reason_and_escaped_raw_body(site, client):
    db.session.add_all(
        [
            QuarantinedEvent(
                enterprise_id=site["enterprise"].id,
                device_id=site["device"].id,
                reason="gate_not_found",
                message="Gate 999 is not one of this enterprise's gates",
                raw='{"subject": "<script>alert(1)</script>"}',
                received_at=NOON,
            ),
            QuarantinedEvent(
                enterprise_id=make_enterprise().id,
                reason="other_enterprise_reason",
                raw="{}",
                received_at=NOON,
            ),
        ]
    )
    db.session.commit()

    html = client.get("/hr/log/quarantined").get_data(as_text=True)

    assert "gate_not_found" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert(1)" not in html
    assert "other_enterprise_reason" not in html


def test_quarantine_pages_by_keyset(site, client):
    for n in range(PAGE_SIZE + 1):
        db.session.add(
            QuarantinedEvent(
                enterprise_id=site["enterprise"].id,
                reason=f"reason_{n:03d}",
                raw="{}",
                received_at=NOON,
            )
        )
    db.session.commit()

    first = client.get("/hr/log/quarantined").get_data(as_text=True)
    link = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(link).get_data(as_text=True)

    shown = {f"reason_{n:03d}" for n in range(PAGE_SIZE + 1) if f"reason_{n:03d}<" in first}
    shown_second = {f"reason_{n:03d}" for n in range(PAGE_SIZE + 1) if f"reason_{n:03d}<" in second}
    assert len(shown) == PAGE_SIZE
    assert len(shown_second) == 1
    assert not shown & shown_second


def test_visitor_events_show_the_visitor_name(site, client):
    visitor = Visitor(enterprise_id=site["enterprise"].id, full_name="Lê Thị Khách")
    db.session.add(visitor)
    db.session.commit()
    make_event(
        site["gate"],
        subject_type="pass",
        subject_value="PASS",
        subject_kind="visitor",
        visitor_id=visitor.id,
        occurred_at=NOON,
    )

    assert "Lê Thị Khách" in client.get("/hr/log?person=Lê Thị").get_data(as_text=True)


def test_log_csv_export_follows_the_filters_neutralises_formulas_and_is_audited(site, client):
    hostile = make_worker(site["enterprise"], full_name="=CMD|' /C calc'!A0", employee_code="NV666")
    make_event(site["gate"], worker=hostile, occurred_at=NOON, occurred_offset_minutes=60)
    make_event(site["gate"], worker=site["worker"], occurred_at=NOON, direction="out")

    response = client.get("/hr/log/export.csv?direction=in", buffered=True)

    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 2
    local_time, device_time, _received, direction, _gate, person = rows[1][:6]
    assert person == "'=CMD|' /C calc'!A0"
    assert local_time == "2026-03-10 12:00:00"
    assert device_time == "2026-03-10T06:00:00+01:00"
    assert direction == "Vào"  # Vietnamese, as the reader sees the log
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "export_log"))
    assert audit.details == {"format": "csv", "filters": {"direction": "in"}}
    assert audit.user_id == site["hr"].id


def test_log_xlsx_export_keeps_hostile_names_as_text(site, client):
    hostile = make_worker(site["enterprise"], full_name="=1+2", employee_code="NV667")
    make_event(site["gate"], worker=hostile, occurred_at=NOON)
    make_event(make_gate(make_enterprise()), subject_value="Công ty khác", occurred_at=NOON)

    response = client.get("/hr/log/export.xlsx", buffered=True)

    sheet = load_workbook(io.BytesIO(response.get_data())).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2
    person = 5
    assert rows[1][person] == "=1+2"
    assert sheet.cell(row=2, column=person + 1).data_type == "s"
    assert rows[1][0] == datetime(2026, 3, 10, 12, 0)
    assert db.session.scalar(select(AuditLog.action)) == "export_log"


def test_export_with_bad_filters_exports_nothing(site, client):
    response = client.get("/hr/log/export.csv?day_from=yesterday")

    assert response.status_code == 302
    assert db.session.scalar(select(AuditLog)) is None
