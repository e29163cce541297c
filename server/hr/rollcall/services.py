"""Roll calls: storing what a tablet sends, and reading who is inside and what was ticked off.

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
from sqlalchemy.exc import IntegrityError

from server.access import scoped
from server.audit import record_audit
from server.extensions import db
from server.hr.activity.presence import OVERDUE_LOOKBACK, gate_labels, last_entries, named_people
from server.models import Device, Gate, RollCall, RollCallEntry, User, Worker
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
    rows = list(db.session.execute(last_entries(user, now=now, since=cutoff - OVERDUE_LOOKBACK)))
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


class RollCallRefused(Exception):
    """The roll call cannot be stored as sent; nothing was written. `field` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def store_roll_call(device: DeviceContext, data: dict[str, Any], now: datetime) -> str:
    """Keep the highest version of a roll call; "stored", "duplicate" or "stale".

    Idempotent by the tablet's UUID: a resend of the stored version is a duplicate, an older
    one is stale and changes nothing. A worker id the enterprise does not have (a worker
    removed since the tablet's roster) keeps its entry, by name, without the link.
    """
    for attempt in range(2):
        try:
            # A savepoint, so that losing the race undoes this try only, not the caller's unit.
            with db.session.begin_nested():
                return _store(device, data, now)
        except IntegrityError:
            # Another request stored the same new roll call first: it exists now.
            if attempt:
                raise
    raise AssertionError("unreachable")


def _store(device: DeviceContext, data: dict[str, Any], now: datetime) -> str:
    scope = device_scope(device)
    stored = db.session.scalar(
        select(RollCall).where(RollCall.client_id == data["id"]).with_for_update()
    )
    if stored is not None and stored.device_id != device.device_id:
        raise RollCallRefused("id", "This id belongs to a roll call of another tablet.")
    if stored is not None and data["version"] <= stored.version:
        return "duplicate" if data["version"] == stored.version else "stale"
    gate = db.session.scalar(scoped(Gate, scope).where(Gate.id == data["gate_id"]))
    if gate is None:
        raise RollCallRefused("gate_id", "Unknown gate.")
    wanted = {entry["worker_id"] for entry in data["entries"] if entry["worker_id"]}
    known = set(
        db.session.scalars(
            scoped(Worker, scope).with_only_columns(Worker.id).where(Worker.id.in_(wanted))
        )
    )
    if stored is None:
        stored = RollCall(
            client_id=data["id"],
            enterprise_id=device.enterprise_id,
            device_id=device.device_id,
            received_at=now,
        )
        db.session.add(stored)
    stored.gate_id = gate.id
    stored.version = data["version"]
    stored.started_at = data["started_at"]
    stored.closed_at = data["closed_at"]
    stored.updated_at = now
    current = {entry.person_key: entry for entry in stored.entries}
    sent = {entry["key"] for entry in data["entries"]}
    for key, old_entry in current.items():
        if key not in sent:
            stored.entries.remove(old_entry)
    for fields in data["entries"]:
        entry = current.get(fields["key"])
        if entry is None:
            entry = RollCallEntry(person_key=fields["key"])
            stored.entries.append(entry)
        entry.kind = fields["kind"]
        entry.worker_id = fields["worker_id"] if fields["worker_id"] in known else None
        entry.name = fields["name"]
        entry.department = fields["department"]
        entry.code = fields["code"]
        entry.ticked_at = fields["ticked_at"]
    return "stored"


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
