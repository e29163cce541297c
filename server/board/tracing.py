"""Contact tracing: who was on the same premises as a person, and for how long."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    case,
    func,
    null,
    or_,
    select,
    text,
    true,
    union_all,
)

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
    stays_overlapping,
)
from server.text import digits, fold

SEARCH_LIMIT = 50

PersonKey = tuple[str, str]  # ("worker", "12"), ("visitor", "3"), ("unresolved", "<text>")

# The page names the longest contacts; the total counts everyone, and the export lists everyone.
CONTACTS_SHOWN = 200


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
    contacts: list[Contact]  # longest overlap first; the first `limit` when trace had one
    total: int


@dataclass(frozen=True)
class _Found:
    """A contact before it is named: only the ones shown are looked up."""

    enterprise_id: int
    key: PersonKey
    stretches: list[Overlap]
    minutes: int
    first_at: datetime


def _person_key(event: Any) -> PersonKey:
    if event.worker_id is not None:
        return ("worker", str(event.worker_id))
    if event.visitor_id is not None:
        return ("visitor", str(event.visitor_id))
    return ("unresolved", event.subject_value)


def _intervals(events: list[Any], *, shift: timedelta, now: datetime) -> list[Interval]:
    return presence_intervals([passage(e) for e in events], shift=shift, now=now)


# What pairing needs of an event, read as plain rows: a day of a large site is tens of thousands.
_EVENT_COLUMNS = (
    GateEvent.id,
    GateEvent.enterprise_id,
    GateEvent.worker_id,
    GateEvent.visitor_id,
    GateEvent.subject_value,
    GateEvent.corrected_at,
    GateEvent.direction,
    GateEvent.gate_id,
)


def trace(
    user: User,
    subject: Worker | Visitor,
    *,
    start: datetime,
    end: datetime,
    shift: timedelta,
    now: datetime,
    limit: int | None = None,
    ip: str = "",
) -> TraceResult:
    """Everyone whose presence overlapped `subject`'s in [start, end), longest overlap first
    (the first `limit` of them, if given, and how many in all).

    Events from a shift before and after the window are read too, so that an entry before the
    window or an exit after it still pairs. The query is written to the audit log.
    """
    kind = "worker" if isinstance(subject, Worker) else "visitor"
    column = GateEvent.worker_id if kind == "worker" else GateEvent.visitor_id
    own_events = db.session.execute(
        scoped(GateEvent, user)
        .with_only_columns(*_EVENT_COLUMNS)
        .where(
            column == subject.id,
            GateEvent.corrected_at >= start - shift,
            GateEvent.corrected_at < end + shift,
        )
    ).all()
    by_enterprise: dict[int, list[Any]] = defaultdict(list)
    for event in own_events:
        by_enterprise[event.enterprise_id].append(event)
    mine: dict[int, list[Interval]] = {}
    for enterprise_id, events in by_enterprise.items():
        clipped = clip(_intervals(events, shift=shift, now=now), start, end)
        if clipped:
            mine[enterprise_id] = clipped
    found: list[_Found] = []
    total = 0
    for enterprise_id, intervals in mine.items():
        candidates, count = _contacts_at(
            user,
            enterprise_id,
            intervals,
            (kind, str(subject.id)),
            shift=shift,
            now=now,
            limit=limit,
        )
        found += candidates
        total += count
    contacts = _named(user, _longest(found, limit))[:limit]
    record_audit(
        user,
        "board.contact_tracing",
        now=now,
        target_type=kind,
        target_id=subject.id,
        enterprise_id=subject.enterprise_id,
        ip=ip,
        details={"start": start.isoformat(), "end": end.isoformat(), "contacts": total},
    )
    gate_names = _gate_names(
        user, {int(i.gate_in or i.gate_out or 0) for v in mine.values() for i in v}
    )
    labelled = [
        (gate_names.get(int(i.gate_in or i.gate_out or 0), ""), i)
        for intervals in mine.values()
        for i in intervals
    ]
    return TraceResult(
        intervals=sorted(labelled, key=lambda p: p[1].start), contacts=contacts, total=total
    )


def _contacts_at(
    user: User,
    enterprise_id: int,
    mine: list[Interval],
    me: PersonKey,
    *,
    shift: timedelta,
    now: datetime,
    limit: int | None,
) -> tuple[list[_Found], int]:
    """The contacts at one enterprise that may be among the first `limit` (all without a
    limit), and how many there are in all.

    SQL adds up and ranks the stays of everyone whose passages pair; the rules run in Python
    for the rest, all of whom are kept.
    """
    low, high = mine[0].start, max(i.end for i in mine)
    if db.session.get_bind().dialect.name == "postgresql":
        # The statement groups a day's events at the enterprise (58,000 on a large site) in a
        # hash table of 8 MB, at the edge of the default 4 MB times hash_mem_multiplier, beyond
        # which it spills to disk (as sorts of those events did when they ranked them: at 30M
        # events 500-1,200 ms, in 32 MB 360-520). LOCAL: for this request's transaction only.
        db.session.execute(text("SET LOCAL work_mem = '32MB'"))
    here = [scope_clause(GateEvent, user), GateEvent.enterprise_id == enterprise_id]
    stays = stays_overlapping([*here, _not(me)], [(i.start, i.end) for i in mine], shift=shift)
    paired: dict[PersonKey, list[Overlap]] = defaultdict(list)
    events: dict[PersonKey, list[Any]] = defaultdict(list)
    total = 0
    for row in db.session.execute(_ranked(user, enterprise_id, stays, limit)):
        total = row.total
        if row.micros is None:
            events[_person_key(row)].append(row)
            continue
        theirs = Interval(row.corrected_at, row.after_at, str(row.gate_id), str(row.after_gate))
        paired[_person_key(row)] += overlaps(mine, [theirs])
    # Records of people nobody has named yet are few; each text is paired as one person.
    unresolved = db.session.execute(
        select(*_EVENT_COLUMNS).where(
            *here,
            GateEvent.worker_id.is_(None),
            GateEvent.visitor_id.is_(None),
            GateEvent.corrected_at >= low - shift,
            GateEvent.corrected_at < high + shift,
        )
    )
    for row in unresolved:
        events[_person_key(row)].append(row)
    unpaired = [
        (key, overlaps(mine, _intervals(their_events, shift=shift, now=now)))
        for key, their_events in events.items()
    ]
    found = [
        _Found(enterprise_id, key, stretches, int(seconds // 60), min(s.start for s in stretches))
        for key, stretches in [*paired.items(), *unpaired]
        if (seconds := overlap_seconds(stretches)) > 0
    ]
    return found, total + sum(1 for f in found if f.key not in paired)


def _not(me: PersonKey) -> ColumnElement[bool]:
    """The events of anyone but `me`."""
    kind, person_id = me
    if kind == "worker":
        return func.coalesce(GateEvent.worker_id, 0) != int(person_id)
    return or_(
        GateEvent.worker_id.is_not(None), func.coalesce(GateEvent.visitor_id, 0) != int(person_id)
    )


def _ranked(user: User, enterprise_id: int, stays: CTE, limit: int | None) -> Select[Any]:
    """`stays` (see `stays_overlapping`) at the enterprise, of the people whose passages pair
    only the rows of those who may be among the first `limit` as the page lists contacts (all
    without a limit); `total` counts them all.

    Everyone ahead of the `limit`-th by overlap and start is among them. Names break the ties
    with the `limit`-th, and a factory's whole shift may tie for the longest overlap: of the
    tied, the first `limit` workers and the first `limit` visitors by name are kept, for Python
    to rank with the rest (see `_longest`).
    """
    s = stays.c
    # A person's overlaps do not overlap one another: one of them starts at `first_at`.
    people = (
        select(
            s.worker_id,
            s.visitor_id,
            (-(s.micros // 60_000_000)).label("minutes"),  # longest first
            s.first_at,
        )
        .where(s.micros.is_not(None), s.start == s.first_at)
        .subquery()
    )
    p = people.c
    total = select(func.count()).select_from(people).scalar_subquery()
    if limit is None:
        return select(stays, total.label("total"))
    cut = (
        select(p.minutes, p.first_at)
        .order_by(p.minutes, p.first_at)
        .offset(limit - 1)
        .limit(1)
        .cte("cut")
    )
    cut_minutes = select(cut.c.minutes).scalar_subquery()
    cut_first_at = select(cut.c.first_at).scalar_subquery()
    ahead = select(p.worker_id, p.visitor_id).where(
        or_(
            cut_minutes.is_(None),
            p.minutes < cut_minutes,
            and_(p.minutes == cut_minutes, p.first_at < cut_first_at),
        )
    )
    at_cut = [p.minutes == cut_minutes, p.first_at == cut_first_at]
    tied_workers = select(p.worker_id).where(*at_cut, p.worker_id.is_not(None))
    tied_visitors = select(p.visitor_id).where(*at_cut, p.worker_id.is_(None))
    workers = _first_by_name(user, Worker, enterprise_id, tied_workers, limit).subquery()
    visitors = _first_by_name(user, Visitor, enterprise_id, tied_visitors, limit).subquery()
    shown = union_all(
        ahead,
        select(workers.c.id, null()),
        select(null(), visitors.c.id),
    ).cte("shown")
    return select(stays, total.label("total")).where(
        or_(
            s.micros.is_(None),
            s.worker_id.in_(select(shown.c.worker_id).where(shown.c.worker_id.is_not(None))),
            and_(
                s.worker_id.is_(None),
                s.visitor_id.in_(select(shown.c.visitor_id).where(shown.c.worker_id.is_(None))),
            ),
        )
    )


def _first_by_name(
    user: User,
    model: type[Worker] | type[Visitor],
    enterprise_id: int,
    tied: Select[Any],
    limit: int,
) -> CompoundSelect:
    """Of the people of `model` whose ids `tied` selects, the ids of the first `limit` of the
    enterprise's own by name, then id, and of all who belong to another enterprise.

    The enterprise's people are walked in the order of its name index until `limit` of them are
    found among the tied, so few names are read however many tie (its workers have the index;
    its visitors are few, and sorted). Put as a CASE, the test stays a filter on that walk: as a
    plain IN, PostgreSQL turns it into a join that looks up every tied person's row, then sorts
    them all. Someone of another enterprise who passed its gates is not in that order; they are
    few, and all kept for Python to rank.
    """
    # Python's order of texts, as SQLite's own is, and as the name index holds them.
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    name = model.full_name.collate("C") if postgresql else model.full_name
    own = model.enterprise_id == enterprise_id
    first = (
        select(model.id)
        .where(own, scope_clause(model, user), case((model.id.in_(tied), true())))
        .order_by(name, model.id)
        .limit(limit)
        .subquery()
    )
    elsewhere = tied.where(tied.selected_columns[0].not_in(select(model.id).where(own)))
    return union_all(select(first.c.id), elsewhere)


def _longest(found: list[_Found], limit: int | None) -> list[_Found]:
    """The first `limit` by overlap, then start, and every contact tied with the last of them:
    the name that breaks those ties is read only for the contacts kept."""
    found.sort(key=lambda f: (-f.minutes, f.first_at))
    if limit is None or len(found) <= limit:
        return found
    last = (found[limit - 1].minutes, found[limit - 1].first_at)
    cut = limit
    while cut < len(found) and (found[cut].minutes, found[cut].first_at) == last:
        cut += 1
    return found[:cut]


def _named(user: User, found: list[_Found]) -> list[Contact]:
    """The contacts `found`, with names, gates and enterprise, longest overlap first."""
    names = _people_names(user, {f.key: f for f in found})
    gate_names = _gate_names(
        user,
        {
            int(gate)
            for f in found
            for s in f.stretches
            for gate in (s.theirs.gate_in, s.theirs.gate_out)
            if gate
        },
    )
    enterprises = dict(
        db.session.execute(
            select(Enterprise.id, Enterprise.name).where(
                Enterprise.id.in_({f.enterprise_id for f in found}), scope_clause(Enterprise, user)
            )
        ).all()
    )
    contacts = []
    for item in found:
        key, stretches = item.key, item.stretches
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
                enterprise=enterprises.get(item.enterprise_id, ""),
                minutes=item.minutes,
                first_at=item.first_at,
                last_at=max(s.end for s in stretches),
                gates=gates,
                stretches=_joined(stretches),
            )
        )
    contacts.sort(key=lambda c: (-c.minutes, c.first_at, c.name, c.kind, c.person_id or 0))
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
    # Columns, not entities: a factory's whole shift may tie for the longest overlap.
    workers = scoped(Worker, user).with_only_columns(
        Worker.id, Worker.full_name, Worker.employee_code, Worker.department, Worker.phone
    )
    for worker_id, name, *details in db.session.execute(workers.where(Worker.id.in_(worker_ids))):
        names[("worker", str(worker_id))] = (name, " · ".join(p for p in details if p))
    visitors = scoped(Visitor, user).with_only_columns(
        Visitor.id, Visitor.full_name, Visitor.organisation, Visitor.phone
    )
    for visitor_id, name, *details in db.session.execute(
        visitors.where(Visitor.id.in_(visitor_ids))
    ):
        names[("visitor", str(visitor_id))] = (name, " · ".join(p for p in details if p))
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
