"""Contact tracing: who was on the same premises as a person, and for how long."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, or_, select

from server.access import scope_clause, scoped
from server.audit import record_audit
from server.extensions import db
from server.models import Enterprise, Gate, GateEvent, User, Visitor, Worker
from server.presence import (
    Interval,
    Overlap,
    clip,
    overlap_seconds,
    overlaps,
    passage,
    presence_intervals,
)
from server.text import digits, fold

SEARCH_LIMIT = 50

PersonKey = tuple[str, str]  # ("worker", "12"), ("visitor", "3"), ("unresolved", "<text>")


@dataclass(frozen=True)
class Contact:
    kind: str
    person_id: int | None
    name: str
    detail: str
    enterprise: str
    minutes: int
    first_at: datetime
    last_at: datetime
    gates: list[str]
    stretches: list[tuple[datetime, datetime, str]]


@dataclass(frozen=True)
class TraceResult:
    intervals: list[tuple[str, Interval]]
    contacts: list[Contact]


def _person_key(event: GateEvent) -> PersonKey:
    if event.worker_id is not None:
        return ("worker", str(event.worker_id))
    if event.visitor_id is not None:
        return ("visitor", str(event.visitor_id))
    return ("unresolved", event.subject_value)


def _intervals(events: list[GateEvent], *, shift: timedelta, now: datetime) -> list[Interval]:
    return presence_intervals([passage(e) for e in events], shift=shift, now=now)


def trace(
    user: User,
    subject: Worker | Visitor,
    *,
    start: datetime,
    end: datetime,
    shift: timedelta,
    now: datetime,
    ip: str = "",
) -> TraceResult:
    """Everyone whose presence overlapped `subject`'s in [start, end), longest overlap first.

    Events from a shift before and after the window are read too, so that an entry before the
    window or an exit after it still pairs. The query is written to the audit log.
    """
    kind = "worker" if isinstance(subject, Worker) else "visitor"
    column = GateEvent.worker_id if kind == "worker" else GateEvent.visitor_id
    own_events = db.session.scalars(
        scoped(GateEvent, user).where(
            column == subject.id,
            GateEvent.corrected_at >= start - shift,
            GateEvent.corrected_at < end + shift,
        )
    ).all()
    by_enterprise: dict[int, list[GateEvent]] = defaultdict(list)
    for event in own_events:
        by_enterprise[event.enterprise_id].append(event)
    mine: dict[int, list[Interval]] = {}
    for enterprise_id, events in by_enterprise.items():
        clipped = clip(_intervals(events, shift=shift, now=now), start, end)
        if clipped:
            mine[enterprise_id] = clipped
    contacts = []
    for enterprise_id, intervals in mine.items():
        contacts.extend(
            _contacts_at(
                user, enterprise_id, intervals, (kind, str(subject.id)), shift=shift, now=now
            )
        )
    contacts.sort(key=lambda c: (-c.minutes, c.first_at, c.name))
    record_audit(
        user,
        "board.contact_tracing",
        now=now,
        target_type=kind,
        target_id=subject.id,
        enterprise_id=subject.enterprise_id,
        ip=ip,
        details={"start": start.isoformat(), "end": end.isoformat(), "contacts": len(contacts)},
    )
    gate_names = _gate_names(
        user, {int(i.gate_in or i.gate_out or 0) for v in mine.values() for i in v}
    )
    labelled = [
        (gate_names.get(int(i.gate_in or i.gate_out or 0), ""), i)
        for intervals in mine.values()
        for i in intervals
    ]
    return TraceResult(intervals=sorted(labelled, key=lambda p: p[1].start), contacts=contacts)


def _contacts_at(
    user: User,
    enterprise_id: int,
    mine: list[Interval],
    me: PersonKey,
    *,
    shift: timedelta,
    now: datetime,
) -> list[Contact]:
    low, high = mine[0].start, max(i.end for i in mine)
    events = db.session.scalars(
        scoped(GateEvent, user).where(
            GateEvent.enterprise_id == enterprise_id,
            GateEvent.corrected_at >= low - shift,
            GateEvent.corrected_at < high + shift,
        )
    ).all()
    people: dict[PersonKey, list[GateEvent]] = defaultdict(list)
    for event in events:
        key = _person_key(event)
        if key != me:
            people[key].append(event)
    found = {}
    for key, their_events in people.items():
        stretches = overlaps(mine, _intervals(their_events, shift=shift, now=now))
        seconds = overlap_seconds(stretches)
        if seconds > 0:
            found[key] = stretches
    if not found:
        return []
    gate_names = _gate_names(user, {e.gate_id for e in events})
    names = _people_names(user, found)
    enterprise_name = db.session.scalar(
        select(Enterprise.name).where(
            Enterprise.id == enterprise_id, scope_clause(Enterprise, user)
        )
    )
    contacts = []
    for key, stretches in found.items():
        name, detail = names.get(key, (key[1], ""))
        gates = sorted(
            {
                gate_names.get(int(gate), "")
                for s in stretches
                for gate in (s.theirs.gate_in, s.theirs.gate_out)
                if gate
            }
        )
        contacts.append(
            Contact(
                kind=key[0],
                person_id=int(key[1]) if key[0] != "unresolved" else None,
                name=name,
                detail=detail,
                enterprise=enterprise_name or "",
                minutes=int(overlap_seconds(stretches) // 60),
                first_at=min(s.start for s in stretches),
                last_at=max(s.end for s in stretches),
                gates=gates,
                stretches=_joined(stretches),
            )
        )
    return contacts


def _joined(stretches: list[Overlap]) -> list[tuple[datetime, datetime, str]]:
    """Overlaps in time order, touching ones joined (a run of entries without exits closes each
    at the next entry: to the reader, one stay)."""
    joined: list[tuple[datetime, datetime, str]] = []
    for item in sorted(stretches, key=lambda o: o.start):
        if joined and item.start <= joined[-1][1]:
            start, end, flag = joined[-1]
            joined[-1] = (start, max(end, item.end), flag or item.theirs.flag)
        else:
            joined.append((item.start, item.end, item.theirs.flag))
    return joined


def _gate_names(user: User, gate_ids: set[int]) -> dict[int, str]:
    rows = db.session.execute(
        select(Gate.id, Gate.code, Gate.name).where(Gate.id.in_(gate_ids), scope_clause(Gate, user))
    )
    return {gate_id: f"{code} · {name}" for gate_id, code, name in rows}


def _people_names(user: User, keys: Mapping[PersonKey, object]) -> dict[PersonKey, tuple[str, str]]:
    worker_ids = [int(k[1]) for k in keys if k[0] == "worker"]
    visitor_ids = [int(k[1]) for k in keys if k[0] == "visitor"]
    names: dict[PersonKey, tuple[str, str]] = {}
    for worker in db.session.scalars(scoped(Worker, user).where(Worker.id.in_(worker_ids))):
        detail = " · ".join(
            p for p in (worker.employee_code, worker.department, worker.phone or "") if p
        )
        names[("worker", str(worker.id))] = (worker.full_name, detail)
    for visitor in db.session.scalars(scoped(Visitor, user).where(Visitor.id.in_(visitor_ids))):
        detail = " · ".join(p for p in (visitor.organisation, visitor.phone or "") if p)
        names[("visitor", str(visitor.id))] = (visitor.full_name, detail)
    return names


@dataclass(frozen=True)
class Match:
    kind: str
    person_id: int
    name: str
    detail: str
    enterprise: str


def search_people(user: User, text: str) -> list[Match]:
    """Workers and visitors the user may see, by name without diacritics, code or phone."""
    folded, number = fold(text), digits(text)
    if len(folded) < 2:
        return []
    worker_match: list[ColumnElement[bool]] = [
        Worker.search_name.contains(folded),
        Worker.employee_code == text.strip(),
    ]
    if len(number) >= 4:
        worker_match.append(Worker.phone.contains(number))
    workers = db.session.execute(
        scoped(Worker, user)
        .join(Enterprise, Enterprise.id == Worker.enterprise_id)
        .where(or_(*worker_match))
        .add_columns(Enterprise.name)
        .order_by(Worker.search_name)
        .limit(SEARCH_LIMIT)
    ).all()
    visitor_match: list[ColumnElement[bool]] = [Visitor.full_name.ilike(f"%{text.strip()}%")]
    if len(number) >= 4:
        visitor_match.append(Visitor.phone.contains(number))
    visitors = db.session.execute(
        scoped(Visitor, user)
        .join(Enterprise, Enterprise.id == Visitor.enterprise_id)
        .where(or_(*visitor_match))
        .add_columns(Enterprise.name)
        .order_by(Visitor.full_name)
        .limit(SEARCH_LIMIT)
    ).all()
    matches = [
        Match("worker", w.id, w.full_name, f"{w.employee_code} · {w.department}", name)
        for w, name in workers
    ]
    matches += [Match("visitor", v.id, v.full_name, v.organisation, name) for v, name in visitors]
    return matches
