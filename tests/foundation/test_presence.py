"""One answer to "who is inside", in corrected time, with the same tie-break on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from server.board.labour import Scope, worker_list
from server.board.tracing import trace
from server.checkin.services import Person, proposed_direction
from server.extensions import db
from server.hr.activity.presence import presence
from server.hr.rollcall.services import people_inside
from tests.factories import (
    make_enterprise,
    make_event,
    make_gate,
    make_user,
    make_worker,
    make_zone,
)

pytestmark = pytest.mark.usefixtures("app")

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SHIFT = timedelta(hours=12)
BEHIND = timedelta(hours=2)


def late_tablet_event(gate, worker, direction: str, at: datetime):
    """An event at true time `at` from a tablet whose clock ran two hours behind."""
    return make_event(
        gate, worker=worker, direction=direction, occurred_at=at - BEHIND, corrected_at=at
    )


def test_a_worker_on_a_tablet_two_hours_behind_is_in_the_contact_list() -> None:
    zone = make_zone()
    enterprise = make_enterprise(zone_id=zone.id)
    gate = make_gate(enterprise)
    case, colleague = make_worker(enterprise), make_worker(enterprise)
    inspector = make_user("inspector", zones=(zone,))
    make_event(gate, worker=case, direction="in", occurred_at=NOW - timedelta(hours=3))
    make_event(gate, worker=case, direction="out", occurred_at=NOW - timedelta(hours=1))
    # By the device's clock the colleague left before the case arrived; in truth they overlap.
    late_tablet_event(gate, colleague, "in", NOW - timedelta(hours=2, minutes=30))
    late_tablet_event(gate, colleague, "out", NOW - timedelta(hours=1, minutes=30))

    result = trace(inspector, case, start=NOW - timedelta(hours=6), end=NOW, shift=SHIFT, now=NOW)

    [contact] = result.contacts
    assert (contact.person_id, contact.minutes) == (colleague.id, 60)


def test_likely_gone_home_and_on_site_read_the_corrected_time() -> None:
    zone = make_zone()
    enterprise = make_enterprise(zone_id=zone.id)
    gate = make_gate(enterprise)
    inspector = make_user("inspector", zones=(zone,))
    hr = make_user("hr", enterprise=enterprise)
    left, inside = make_worker(enterprise), make_worker(enterprise)
    # Left at 07:00 in truth; the tablet wrote 05:00, before its own 06:00 entry.
    late_tablet_event(gate, left, "out", NOW - timedelta(hours=2))
    make_event(gate, worker=left, direction="in", occurred_at=NOW - timedelta(hours=3))
    late_tablet_event(gate, inside, "in", NOW - timedelta(hours=1))
    make_event(gate, worker=inside, direction="out", occurred_at=NOW - timedelta(hours=2))

    gone = worker_list(inspector, Scope(zone_id=zone.id), gone_home_before=NOW)
    assert [w.full_name for w in gone] == [left.full_name]
    on_site = presence(hr, now=NOW, shift_hours=12).on_site.people
    assert [p.person_id for p in on_site] == [inside.id]
    assert [p.worker_id for p in people_inside(hr, now=NOW, shift_hours=12).named()] == [inside.id]
    db.session.refresh(left)
    db.session.refresh(inside)
    assert proposed_direction(Person("", worker=left), now=NOW, shift_hours=12) == "in"
    assert proposed_direction(Person("", worker=inside), now=NOW, shift_hours=12) == "out"


def test_two_records_at_one_moment_resolve_to_the_greater_id_on_both_databases() -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    hr = make_user("hr", enterprise=enterprise)
    at = NOW - timedelta(hours=1)
    low, high = uuid.UUID(int=1), uuid.UUID(int=2**128 - 1)
    entered, exited = make_worker(enterprise), make_worker(enterprise)
    # Inserted in the order that makes an arbitrary pick likely to differ from the rule.
    make_event(gate, worker=entered, direction="in", occurred_at=at, id=high)
    make_event(gate, worker=entered, direction="out", occurred_at=at, id=low)
    make_event(gate, worker=exited, direction="in", occurred_at=at, id=uuid.UUID(int=3))
    make_event(gate, worker=exited, direction="out", occurred_at=at, id=uuid.UUID(int=2**127))

    on_site = presence(hr, now=NOW, shift_hours=12).on_site.people

    assert [p.person_id for p in on_site] == [entered.id]
    assert proposed_direction(Person("", worker=entered), now=NOW, shift_hours=12) == "out"
    assert proposed_direction(Person("", worker=exited), now=NOW, shift_hours=12) == "in"
