"""Retention that really forgets: after the visitors' period no copy of a visitor's name or
card details is left anywhere in the database, and HR's search no longer finds them."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import GateEvent, QuarantinedEvent, RollCallEntry, SyncBatch
from server.retention import purge
from tests.factories import (
    login,
    make_device,
    make_enterprise,
    make_event,
    make_gate,
    make_roll_call,
    make_user,
    make_visitor_pass,
    make_worker,
    make_zone,
)
from tests.retention.test_purge import NOW, POLICY, TZ, days_ago

NAME = "Lê Thị Khách"
PHONE = "0987000111"
BIRTH = "17/03/1991"  # what a CCCD chip gives, kept in the event's note
CARD_NOTE = f"CCCD …5432, sinh {BIRTH}, Thái Bình"
TRACES = (NAME, PHONE, BIRTH, "…5432")


@pytest.fixture
def visited(app):  # type: ignore[no-untyped-def]
    """A visitor who came 119 days ago, and every copy of their data the house keeps."""
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    device, _token = make_device(gate)
    stale = make_visitor_pass(
        enterprise, now=days_ago(120), full_name=NAME, valid_until=days_ago(119)
    )
    stale.visitor.phone, stale.visitor.organisation = PHONE, "Công ty Vận tải"
    stale.visitor.id_number_last4, stale.visitor.created_at = "5432", days_ago(120)
    # By pass, with what the tablet sent and the card note.
    make_event(
        gate,
        occurred_at=days_ago(119),
        visitor_pass=stale,
        visitor_details={"name": NAME, "phone": PHONE},
        note=CARD_NOTE,
    )
    # Typed by the guard, the person never resolved.
    make_event(
        gate,
        occurred_at=days_ago(119, hours=2),
        subject_type="text",
        subject_value=NAME,
        subject_kind="unresolved",
        note=CARD_NOTE,
    )
    worker = make_worker(enterprise, full_name="Nguyễn Văn Thợ")
    kept = make_event(gate, worker=worker, occurred_at=days_ago(119), note="quên thẻ")
    batch = SyncBatch(client_batch_id=str(uuid.uuid4()), device_id=device.id)
    db.session.add(batch)
    db.session.flush()
    db.session.add(
        QuarantinedEvent(
            enterprise_id=enterprise.id,
            device_id=device.id,
            batch_id=batch.id,
            reason="invalid_event",
            raw=f'{{"subject": "{NAME}", "note": "{CARD_NOTE}"}}',
            received_at=days_ago(119),
        )
    )
    call = make_roll_call(enterprise=enterprise, gate=gate, started_at=days_ago(119))
    call.entries.append(RollCallEntry(person_key="v:khach", kind="visitor", name=NAME))
    db.session.commit()
    return enterprise, kept


def every_stored_value() -> str:
    """The text of every row of every table."""
    rows = []
    for table in db.metadata.sorted_tables:
        rows.extend(repr(tuple(row)) for row in db.session.execute(select(table)))
    return "\n".join(rows)


def test_before_the_purge_the_visitor_is_everywhere(visited) -> None:
    stored = every_stored_value()
    assert all(trace in stored for trace in TRACES)


def test_after_the_visitors_period_no_copy_of_the_visitor_is_left(visited) -> None:
    purge(NOW, POLICY, timezone=TZ)
    db.session.commit()

    stored = every_stored_value()
    assert [trace for trace in TRACES if trace in stored] == []
    # The gate records themselves stay for their own, longer period, and a worker's note too.
    _enterprise, kept = visited
    assert db.session.scalar(select(GateEvent.note).where(GateEvent.id == kept.id)) == "quên thẻ"
    assert db.session.query(GateEvent).count() == 3


def test_hr_search_no_longer_finds_the_anonymised_visitor(client, visited) -> None:
    enterprise, _kept = visited
    login(client, make_user("hr", enterprise=enterprise))
    day = (NOW - timedelta(days=119)).date().isoformat()
    before = client.get(f"/hr/log?person=Khách&start={day}&end={day}").get_data(as_text=True)
    purge(NOW, POLICY, timezone=TZ)
    db.session.commit()
    after = client.get(f"/hr/log?person=Khách&start={day}&end={day}").get_data(as_text=True)
    assert NAME in before
    assert NAME not in after


def test_the_board_shows_the_daily_counts_of_days_past_retention(client, app) -> None:
    zone, other_zone = make_zone(name="KCN Đình Trám"), make_zone(name="KCN Khác")
    ours = make_enterprise(name="May Đình Trám", zone_id=zone.id)
    theirs = make_enterprise(name="Công ty Vùng Khác", zone_id=other_zone.id)
    gate, their_gate = make_gate(ours), make_gate(theirs)
    worker = make_worker(ours)
    for direction, hour in (("in", 1), ("out", 10)):
        make_event(gate, worker=worker, direction=direction, occurred_at=days_ago(400, hours=-hour))
    make_event(gate, direction="in", occurred_at=days_ago(400, hours=-2))  # an unknown person
    make_event(their_gate, direction="in", occurred_at=days_ago(400))
    db.session.commit()
    purge(NOW, POLICY, timezone=TZ)
    db.session.commit()
    assert db.session.query(GateEvent).count() == 0

    login(client, make_user("inspector", zones=(zone,)))
    page = client.get("/board/labour/past-retention").get_data(as_text=True)

    day = (days_ago(400, hours=-1) + timedelta(hours=7)).strftime("%d/%m/%Y")
    row = re.search(rf"<tr><td>{day}</td><td>May Đình Trám</td>(.*?)</tr>", page)
    assert row is not None
    assert re.findall(r'class="num">(\d+)<', row.group(1)) == ["2", "1", "2", "1"]
    assert "Công ty Vùng Khác" not in page
