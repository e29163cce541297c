"""Roll calls: who is inside and what was ticked off (the sync engine stores what tablets send).

Who is inside is presence's answer (server/hr/activity/presence.py), without its list limit and
with the people whose exit is missing: at an assembly point a forgotten exit must be looked for,
not left out.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, select

from server.access import scoped
from server.audit import record_audit
from server.extensions import db
from server.hr.activity.services import events_of
from server.models import Device, Gate, RollCall, RollCallEntry, User
from server.presence import OVERDUE_LOOKBACK, gate_labels, last_entries, named_people
from server.text import fold
from sync.store import DeviceContext

VISITORS = "visitors"


@dataclass(frozen=True)
class InsidePerson:
    key: str
    kind: str
    worker_id: int | None
    name: str
    department: str
    code: str
    gate: str
    since: datetime
    # Entered longer ago than a shift with no exit recorded: may have left unrecorded.
    overdue: bool


def person_key(kind: str, person_id: int, name: str) -> str:
    """The key a tablet gives the same person: a worker by id, a visitor by folded name."""
    return f"w:{person_id}" if kind == "worker" else f"v:{fold(name)}"


def people_inside(user: User, *, now: datetime, shift_hours: float) -> list[InsidePerson]:
    """Everyone whose latest event is an entry, newest first, those overdue included."""
    cutoff = now - timedelta(hours=shift_hours)
    rows = list(
        db.session.execute(
            last_entries([events_of(user)], now=now, since=cutoff - OVERDUE_LOOKBACK)
        )
    )
    return [
        InsidePerson(
            key=person_key(person.kind, person.person_id, person.name),
            kind=person.kind,
            worker_id=person.person_id if person.kind == "worker" else None,
            name=person.name,
            department=person.department,
            code=person.code,
            gate=person.gate,
            since=person.since,
            overdue=person.since < cutoff,
        )
        for person in named_people(user, rows, gate_labels(user))
    ]


def by_department(people: list[Any]) -> list[tuple[str, list[Any]]]:
    """People grouped by department, visitors last under VISITORS, names sorted."""
    groups: dict[str, list[Any]] = {}
    for person in people:
        group = VISITORS if person.kind == "visitor" else person.department or ""
        groups.setdefault(group, []).append(person)
    order = sorted((name for name in groups if name != VISITORS), key=fold)
    if VISITORS in groups:
        order.append(VISITORS)
    return [(name, sorted(groups[name], key=lambda p: fold(p.name))) for name in order]


def device_scope(device: DeviceContext) -> User:
    """A tablet reads and writes with the scope of an HR user of its enterprise.

    Never added to the session: it only carries the scope into access.py's one mechanism.
    """
    return User(role="hr", enterprise_id=device.enterprise_id)


def received_seqs(device: DeviceContext) -> tuple[int, list[list[int]]]:
    """The device's highest stored seq and the ranges below it still missing."""
    row = db.session.execute(
        select(Device.highest_seq, Device.missing_seq_ranges).where(Device.id == device.device_id)
    ).one()
    return row.highest_seq, list(row.missing_seq_ranges or [])


@dataclass(frozen=True)
class Sighting:
    """A person ticked off at an assembly point: when, and by the tablet of which gate."""

    at: datetime
    gate: str


def sightings(user: User, *, since: datetime) -> dict[str, Sighting]:
    """Per person key, the first tick in any tablet's roll call started after `since`."""
    query = (
        scoped(RollCall, user)
        .join(RollCallEntry, RollCallEntry.roll_call_id == RollCall.id)
        .join(Gate, Gate.id == RollCall.gate_id)
        .with_only_columns(RollCallEntry.person_key, RollCallEntry.ticked_at, Gate.code, Gate.name)
        .where(RollCall.started_at >= since, RollCallEntry.ticked_at.is_not(None))
        .order_by(RollCallEntry.ticked_at)
    )
    seen: dict[str, Sighting] = {}
    # The query keeps only ticked entries, so each has its time.
    rows = cast(Iterable[tuple[str, datetime, str, str]], db.session.execute(query))
    for key, at, code, name in rows:
        seen.setdefault(key, Sighting(at=at, gate=f"{code} · {name}"))
    return seen


@dataclass(frozen=True)
class RollCallSummary:
    roll_call: RollCall
    device_label: str
    gate: str
    total: int
    ticked: int


def roll_calls(user: User, *, since: datetime, limit: int = 50) -> list[RollCallSummary]:
    """The roll calls started after `since`, newest first, with their counts."""
    counts = (
        select(
            RollCallEntry.roll_call_id,
            func.count(RollCallEntry.id).label("total"),
            func.count(RollCallEntry.ticked_at).label("ticked"),
        )
        .group_by(RollCallEntry.roll_call_id)
        .subquery()
    )
    query = (
        scoped(RollCall, user)
        .add_columns(
            Device.label,
            Gate.code,
            Gate.name,
            func.coalesce(counts.c.total, 0),
            func.coalesce(counts.c.ticked, 0),
        )
        .join(Device, Device.id == RollCall.device_id)
        .join(Gate, Gate.id == RollCall.gate_id)
        .outerjoin(counts, counts.c.roll_call_id == RollCall.id)
        .where(RollCall.started_at >= since)
        .order_by(RollCall.started_at.desc(), RollCall.id.desc())
        .limit(limit)
    )
    return [
        RollCallSummary(roll_call, label, f"{code} · {name}", total, ticked)
        for roll_call, label, code, name, total, ticked in db.session.execute(query)
    ]


@dataclass(frozen=True)
class RollCallDetail:
    roll_call: RollCall
    device_label: str
    gate: str
    missing: list[tuple[str, list[RollCallEntry]]]
    seen: list[tuple[str, list[RollCallEntry]]]
    missing_count: int
    seen_count: int


def roll_call_detail(
    user: User, roll_call: RollCall, *, now: datetime, ip: str = ""
) -> RollCallDetail:
    """A roll call's people by department, not yet seen first; the viewing is audited."""
    device = db.session.get(Device, roll_call.device_id)
    gate = db.session.get(Gate, roll_call.gate_id)
    missing = [entry for entry in roll_call.entries if entry.ticked_at is None]
    seen = [entry for entry in roll_call.entries if entry.ticked_at is not None]
    detail = RollCallDetail(
        roll_call=roll_call,
        device_label=device.label if device else "",
        gate=f"{gate.code} · {gate.name}" if gate else "",
        missing=by_department(missing),
        seen=by_department(seen),
        missing_count=len(missing),
        seen_count=len(seen),
    )
    record_audit(
        user,
        "rollcall.viewed",
        now=now,
        target_type="roll_call",
        target_id=roll_call.id,
        enterprise_id=roll_call.enterprise_id,
        ip=ip,
    )
    return detail
