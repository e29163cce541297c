"""Presence: who is on site by event time, headcounts, forgotten exits, the hourly chart."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.hr.activity import presence as presence_module
from server.hr.activity.presence import hourly_movements, presence
from server.models import AuditLog, ConfigValue
from tests.factories import (
    login,
    make_enterprise,
    make_event,
    make_gate,
    make_user,
    make_visitor_pass,
    make_worker,
)

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)  # 17:00 in Hà Nội


@pytest.fixture
def site(app):
    enterprise = make_enterprise()
    return {
        "enterprise": enterprise,
        "gate": make_gate(enterprise, code="G1", name="Cổng chính"),
        "side_gate": make_gate(enterprise, code="G2", name="Cổng phụ"),
        "hr": make_user("hr", enterprise=enterprise),
    }


def ago(hours: float) -> datetime:
    return NOW - timedelta(hours=hours)


def names(listing) -> set[str]:
    assert listing.total == len(listing.people)
    return {person.name for person in listing.people}


def test_on_site_follows_event_time_and_the_shift_length(site):
    enterprise, gate = site["enterprise"], site["gate"]
    inside = make_worker(enterprise, full_name="Vào 2 giờ trước")
    make_event(gate, worker=inside, occurred_at=ago(2))
    beyond_shift = make_worker(enterprise, full_name="Vào 13 giờ trước")
    make_event(gate, worker=beyond_shift, occurred_at=ago(13))
    left = make_worker(enterprise, full_name="Đã ra")
    make_event(gate, worker=left, occurred_at=ago(3))
    make_event(gate, worker=left, occurred_at=ago(1), direction="out")
    # The exit reached the server first, the entry it closes hours later: still gone.
    late_entry = make_worker(enterprise, full_name="Vào đến muộn")
    make_event(gate, worker=late_entry, occurred_at=ago(1), direction="out", received_at=ago(1))
    make_event(gate, worker=late_entry, occurred_at=ago(2), received_at=NOW)
    # An old exit arriving after a new entry does not send the person home.
    late_exit = make_worker(enterprise, full_name="Ra đến muộn")
    make_event(gate, worker=late_exit, occurred_at=ago(2), received_at=ago(2))
    make_event(gate, worker=late_exit, occurred_at=ago(3), direction="out", received_at=NOW)
    # A tablet clock running ahead does not count as presence yet.
    future = make_worker(enterprise, full_name="Đồng hồ chạy nhanh")
    make_event(gate, worker=future, occurred_at=NOW + timedelta(hours=1))

    state = presence(site["hr"], now=NOW, shift_hours=12)

    assert names(state.on_site) == {"Vào 2 giờ trước", "Ra đến muộn"}
    assert names(state.overdue) == {"Vào 13 giờ trước"}
    longer = presence(site["hr"], now=NOW, shift_hours=14)
    assert names(longer.on_site) == {"Vào 2 giờ trước", "Ra đến muộn", "Vào 13 giờ trước"}
    assert longer.overdue.total == 0


def test_headcount_per_gate_and_department(site):
    enterprise = site["enterprise"]
    for department, gate in (
        ("May 1", site["gate"]),
        ("May 1", site["gate"]),
        ("Cắt", site["side_gate"]),
    ):
        make_event(gate, worker=make_worker(enterprise, department=department), occurred_at=ago(1))
    visitor_pass = make_visitor_pass(enterprise, now=NOW, full_name="Khách Hàng")
    make_event(
        site["side_gate"],
        visitor_pass=visitor_pass,
        occurred_at=ago(1),
    )
    other = make_enterprise()
    make_event(make_gate(other), worker=make_worker(other, department="May 1"), occurred_at=ago(1))

    state = presence(site["hr"], now=NOW, shift_hours=12)

    assert state.by_gate == [("G1 · Cổng chính", 2), ("G2 · Cổng phụ", 2)]
    assert state.by_department == [("Cắt", 1), ("May 1", 2)]
    assert state.visitors_on_site == 1


def test_visitor_whose_pass_expired_inside_is_listed(site):
    enterprise, gate = site["enterprise"], site["gate"]
    expired = make_visitor_pass(
        enterprise, full_name="Khách quá hạn", valid_from=ago(5), valid_until=ago(1)
    )
    valid = make_visitor_pass(
        enterprise,
        full_name="Khách còn hạn",
        valid_from=ago(5),
        valid_until=NOW + timedelta(hours=2),
    )
    for visitor_pass in (expired, valid):
        make_event(
            gate,
            visitor_pass=visitor_pass,
            occurred_at=ago(3),
        )

    state = presence(site["hr"], now=NOW, shift_hours=12)

    assert names(state.on_site) == {"Khách quá hạn", "Khách còn hạn"}
    assert names(state.expired_passes) == {"Khách quá hạn"}


def test_hourly_movements_count_by_local_hour(site):
    gate = site["gate"]
    make_event(gate, occurred_at=datetime(2026, 3, 10, 1, 0, tzinfo=UTC))  # 08:00 local
    make_event(gate, occurred_at=datetime(2026, 3, 10, 1, 59, 59, tzinfo=UTC))  # 08:59:59
    make_event(gate, occurred_at=datetime(2026, 3, 10, 10, 5, tzinfo=UTC), direction="out")
    make_event(gate, occurred_at=datetime(2026, 3, 9, 16, 59, tzinfo=UTC))  # 23:59 the day before
    make_event(gate, occurred_at=datetime(2026, 3, 9, 17, 0, tzinfo=UTC))  # 00:00 local

    hours = hourly_movements(site["hr"], date(2026, 3, 10), timezone="Asia/Ho_Chi_Minh")

    assert len(hours) == 24
    assert hours[0] == (0, 1, 0)
    assert hours[8] == (8, 2, 0)
    assert hours[17] == (17, 0, 1)
    assert sum(ins + outs for _, ins, outs in hours) == 4


def test_presence_page_shows_counts_lists_and_an_inline_chart(site, client):
    login(client, site["hr"])
    worker = make_worker(site["enterprise"], full_name="Phạm Thị Hoa", department="Hoàn thiện")
    make_event(site["gate"], worker=worker, occurred_at=datetime.now(UTC) - timedelta(hours=1))

    response = client.get("/hr/presence?shift_hours=8")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Phạm Thị Hoa" in html
    assert "Hoàn thiện" in html
    assert "<svg" in html
    # The chart is drawn on the server: the page's only scripts are the consoles' shared file.
    assert re.findall(r"<script[^>]*>", html) == ['<script defer src="/static/console.js">']


def test_presence_rejects_a_silly_shift_length_with_a_message(site, client):
    login(client, site["hr"])

    response = client.get("/hr/presence?shift_hours=500&day=yesterday")

    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="error"') == 2


def test_presence_export_lists_everyone_inside_and_is_audited(site, client):
    login(client, site["hr"])
    now = datetime.now(UTC)
    make_event(
        site["gate"],
        worker=make_worker(site["enterprise"], full_name="=HYPERLINK(1)"),
        occurred_at=now - timedelta(hours=1),
    )
    make_event(
        site["gate"],
        worker=make_worker(site["enterprise"], full_name="Quên ra"),
        occurred_at=now - timedelta(hours=20),
    )

    response = client.get("/hr/presence/export.csv?shift_hours=12", buffered=True)

    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert response.status_code == 200
    assert [row[1] for row in rows[1:]] == ["'=HYPERLINK(1)", "Quên ra"]
    assert rows[1][0] != rows[2][0]
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "export_presence"))
    assert audit.details == {"format": "csv", "shift_hours": 12.0}


def test_presence_names_the_newest_entries_and_counts_everyone(site, monkeypatch):
    monkeypatch.setattr(presence_module, "LIST_LIMIT", 2)
    for hours, name in ((3, "Vào sớm nhất"), (2, "Vào thứ hai"), (1, "Vào muộn nhất")):
        worker = make_worker(site["enterprise"], full_name=name)
        make_event(site["gate"], worker=worker, occurred_at=ago(hours))

    state = presence(site["hr"], now=NOW, shift_hours=12)

    assert state.on_site.total == 3
    assert [person.name for person in state.on_site.people] == ["Vào muộn nhất", "Vào thứ hai"]


def test_presence_defaults_to_the_maximum_stay_the_admin_set(site, client):
    login(client, site["hr"])
    db.session.add(ConfigValue(key="shift_hours", value=4))
    db.session.commit()

    page = client.get("/hr/presence").get_data(as_text=True)
    client.get("/hr/presence/export.csv", buffered=True)

    assert "lượt vào chưa quá 4 giờ" in page
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "export_presence"))
    assert audit.details == {"format": "csv", "shift_hours": 4.0}
