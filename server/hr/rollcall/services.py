"""Roll calls: who is inside and what was ticked off (the sync engine stores what tablets send).

Who is inside is presence's answer (server/hr/activity/presence.py), without its list limit and
with the people whose exit is missing: at an assembly point a forgotten exit must be looked for,
not left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from typing import cast as typed

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, String, Subquery, case, cast, func, literal, select

from server.access import scoped
from server.audit import record_audit
from server.extensions import db
from server.hr.activity.services import events_of
from server.models import (
    Device,
    Gate,
    PersonLastPassage,
    RollCall,
    RollCallEntry,
    User,
    Worker,
)
from server.presence import OVERDUE_LOOKBACK, gate_labels, last_entries, named_people
from server.text import fold
from sync.store import DeviceContext

VISITORS = "visitors"
# An evacuation and its aftermath fit in half a day: ticks of older roll calls are history,
# read on their own pages, and must not mark anyone safe today.
CURRENT_ROLL_CALLS = timedelta(hours=12)


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


def group_of(kind: str, department: str | None) -> str:
    """The group a person is counted and listed under: their department, visitors apart."""
    return VISITORS if kind == "visitor" else department or ""


@dataclass(frozen=True)
class GroupCount:
    group: str
    inside: int
    not_seen: int
    overdue: int


@dataclass(frozen=True)
class Inside:
    """Everyone inside (the people whose latest event is an entry), counted by group in SQL and
    named only as far as a page lists them: a large site has tens of thousands inside."""

    latest: Subquery  # last_entries' columns: worker_id, visitor_id, gate_id, at, department, ...
    cutoff: datetime
    user: User
    ticked: Subquery  # the person keys ticked off in the current roll calls

    def groups(self) -> list[GroupCount]:
        """Each group's counts, departments by name and visitors last.

        A worker's key is "w:<id>", matched against the ticks in SQL; a visitor's is their
        folded name, so the few visitors inside are keyed in Python.
        """
        latest = self.latest.c
        worker_key = literal("w:") + cast(latest.worker_id, String)
        counts = db.session.execute(
            select(
                latest.department,
                func.count(),
                func.count(self.ticked.c.person_key),
                func.count(case((latest.at < self.cutoff, 1))),
            )
            .select_from(self.latest)
            .outerjoin(self.ticked, self.ticked.c.person_key == worker_key)
            .where(latest.worker_id.is_not(None))
            .group_by(latest.department)
        )
        inside: Counter[str] = Counter()
        not_seen: Counter[str] = Counter()
        overdue: Counter[str] = Counter()
        for department, total, ticked, late in counts:
            inside[department or ""] += total
            not_seen[department or ""] += total - ticked
            overdue[department or ""] += late
        visitors = self.named(VISITORS)
        if visitors:
            ticked_keys = set(db.session.scalars(select(self.ticked.c.person_key)))
            inside[VISITORS] = len(visitors)
            not_seen[VISITORS] = sum(person.key not in ticked_keys for person in visitors)
            overdue[VISITORS] = sum(person.overdue for person in visitors)
        return [
            GroupCount(group, inside[group], not_seen[group], overdue[group])
            for group in _group_order(inside)
        ]

    def named(self, group: str | None = None) -> list[InsidePerson]:
        """The people of `group` (everyone when None), named, newest entry first."""
        query = select(self.latest).order_by(self.latest.c.at.desc())
        if group == VISITORS:
            query = query.where(self.latest.c.visitor_id.is_not(None))
        elif group is not None:
            query = query.where(
                self.latest.c.worker_id.is_not(None), self.latest.c.department == group
            )
        rows = list(db.session.execute(query))
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
                overdue=person.since < self.cutoff,
            )
            for person in named_people(self.user, rows, gate_labels(self.user))
        ]


def people_inside(user: User, *, now: datetime, shift_hours: float) -> Inside:
    """Everyone whose latest event is an entry, those overdue included, and who of them was
    ticked off in a roll call started after `now` − CURRENT_ROLL_CALLS."""
    cutoff = now - timedelta(hours=shift_hours)
    latest = last_entries(
        [events_of(user, PersonLastPassage)],
        events_of(user, Worker),
        now=now,
        since=cutoff - OVERDUE_LOOKBACK,
    )
    ticked = _ticks(user, since=now - CURRENT_ROLL_CALLS).with_only_columns(
        RollCallEntry.person_key
    )
    return Inside(
        latest=latest.order_by(None).subquery(),
        cutoff=cutoff,
        user=user,
        ticked=ticked.distinct().subquery(),
    )


def listed(
    inside: Inside,
    counts: list[GroupCount],
    seen: Mapping[str, Sighting],
    group: str | None,
    limit: int,
) -> tuple[list[tuple[str, list[InsidePerson]]], int]:
    """The people a page names, by group, and how many there were to name.

    Everyone while they fit in `limit`; otherwise only the chosen group's, those not yet seen
    first, since they are the ones to look for. None when no group is chosen on a large site.
    """
    everyone = sum(count.inside for count in counts)
    if group is None and everyone > limit:
        return [], everyone
    people = inside.named(group)
    shown = sorted(people, key=lambda person: (person.key in seen, fold(person.name)))[:limit]
    return by_department(shown), len(people)


EXPORT_HEADER = (
    _l("Department"),
    _l("Person"),
    _l("Employee code"),
    _l("Gate"),
    _l("Entered at"),
    _l("No exit recorded beyond the shift"),
    _l("At the assembly point"),
    _l("Seen at gate"),
)


def export_rows(inside: Inside, seen: Mapping[str, Sighting]) -> Iterator[list[Any]]:
    """Everyone inside as spreadsheet rows, by department then name, in the reader's language.

    Named now, while the request's user is loaded; the rows are written as the download is read.
    """
    visitors, yes, not_seen = str(_l("Visitors")), str(_l("yes")), str(_l("Not seen yet"))
    return _export_rows(by_department(inside.named()), seen, (visitors, yes, not_seen))


def _export_rows(
    groups: list[tuple[str, list[InsidePerson]]],
    seen: Mapping[str, Sighting],
    words: tuple[str, str, str],
) -> Iterator[list[Any]]:
    visitors, yes, not_seen = words
    for group, people in groups:
        for person in people:
            sighting = seen.get(person.key)
            yield [
                visitors if group == VISITORS else group,
                person.name,
                person.code,
                person.gate,
                person.since,
                yes if person.overdue else "",
                sighting.at if sighting else not_seen,
                sighting.gate if sighting else "",
            ]


def _group_order(groups: Iterable[str]) -> list[str]:
    present = set(groups)
    order = sorted((name for name in present if name != VISITORS), key=fold)
    return [*order, VISITORS] if VISITORS in present else order


def by_department(people: list[Any]) -> list[tuple[str, list[Any]]]:
    """People grouped by department, visitors last under VISITORS, names sorted."""
    groups: dict[str, list[Any]] = {}
    for person in people:
        groups.setdefault(group_of(person.kind, person.department), []).append(person)
    order = _group_order(groups)
    return [(name, sorted(groups[name], key=lambda person: fold(person.name))) for name in order]


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


def _ticks(user: User, *, since: datetime) -> Select[Any]:
    """The ticked entries of the user's roll calls started after `since`."""
    return (
        scoped(RollCall, user)
        .join(RollCallEntry, RollCallEntry.roll_call_id == RollCall.id)
        .where(RollCall.started_at >= since, RollCallEntry.ticked_at.is_not(None))
    )


def sightings(user: User, *, now: datetime) -> dict[str, Sighting]:
    """Per person key, the first tick in any tablet's roll call of the current ones."""
    query = (
        _ticks(user, since=now - CURRENT_ROLL_CALLS)
        .join(Gate, Gate.id == RollCall.gate_id)
        .with_only_columns(RollCallEntry.person_key, RollCallEntry.ticked_at, Gate.code, Gate.name)
        .order_by(RollCallEntry.ticked_at)
    )
    seen: dict[str, Sighting] = {}
    # The query keeps only ticked entries, so each has its time.
    rows = typed(Iterable[tuple[str, datetime, str, str]], db.session.execute(query))
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
