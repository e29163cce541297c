"""The pairing flags of an enterprise's workers, found by server/board/intervals.py's rules,
and HR's resolutions of them. A resolution is a note beside a gate event, never a new one.

The flags of a closed day (one whose events, a shift either side, are all past) depend only on
those events and the max stay, so they are kept in PairingDay: pairing a large site's week on
every visit costs a second. Gate events are only ever added, but for two changes: HR attaching
an unresolved event to a worker, and the purge. A kept day is used only while its events still
count, in all and with a worker, what they counted when it was paired; an addition raises the
first count, an attachment the second, and the purge drops the kept days near what it deletes.
Today and yesterday, whose entries may still be open, are paired on every visit.
"""

from __future__ import annotations

import itertools
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from server.access import scoped
from server.audit import record_audit
from server.clock import local_day_bounds, local_today
from server.extensions import db
from server.hr.activity.services import events_of
from server.models import GateEvent, PairingDay, PairingResolution, User, Worker
from server.presence import (
    ENTRY_MISSING,
    EXIT_MISSING,
    SECOND_ENTRY,
    Anomaly,
    Passage,
    anomalies,
    gate_labels,
    maybe_unpaired,
    passage,
)

FLAGS = (EXIT_MISSING, SECOND_ENTRY, ENTRY_MISSING)
FLAG_LABELS = {
    EXIT_MISSING: _l("No exit recorded within the maximum stay"),
    SECOND_ENTRY: _l("Entered again without an exit"),
    ENTRY_MISSING: _l("Exit without a recorded entry"),
}
# A month of flags is what HR settles in one sitting; longer ranges are a report, not a worklist.
MAX_DAYS = 31
# A page of flags is what one can settle before reloading; a large site's week holds thousands.
PER_PAGE = 100


class PairingError(Exception):
    """A resolution the service refuses, with a message for the user."""


@dataclass(frozen=True)
class Passed:
    """One gate event a flag names, as the page shows it."""

    event_id: uuid.UUID
    direction: str
    at: datetime
    gate: str


@dataclass(frozen=True)
class Person:
    name: str
    code: str


@dataclass(frozen=True)
class Flag:
    flag: str
    worker_id: int
    name: str
    code: str
    event: Passed
    followed_by: Passed | None
    resolution: PairingResolution | None
    resolved_by: str


def _found(
    user: User,
    start: datetime,
    end: datetime,
    *,
    shift: timedelta,
    now: datetime,
    worker_id: int | None = None,
) -> list[tuple[int, Anomaly]]:
    """(worker id, anomaly) for every flag whose event lies in [start, end).

    Events a shift either side are read too, so a night shift or an entry just before the
    window still pairs; nothing further can pair with an event inside it.
    """
    criteria = [events_of(user)]
    if worker_id is not None:
        criteria.append(GateEvent.worker_id == worker_id)
    by_worker: dict[int, list[Passage]] = defaultdict(list)
    for row in db.session.execute(
        maybe_unpaired(criteria, start=start, end=end, shift=shift, now=now)
    ):
        by_worker[row.worker_id].append(passage(row))
    return [
        (person, anomaly)
        for person, passages in by_worker.items()
        for anomaly in anomalies(passages, shift=shift, now=now)
        if start <= anomaly.passage.at < end
    ]


def _flags_of_days(
    user: User, day_from: date, day_to: date, *, timezone: str, shift: timedelta, now: datetime
) -> list[tuple[int, Anomaly]]:
    """What `_found` gives for the local days `day_from` to `day_to`, the closed ones kept."""
    days = _days(day_from, day_to)
    closed = [
        day
        for day in days
        if user.enterprise_id is not None and local_day_bounds(day, timezone)[1] + shift <= now
    ]
    found: list[tuple[int, Anomaly]] = []
    # Counted before the events are read: an event added in between makes the kept day count
    # too few, so it is paired again next time, never trusted with an event it lacks.
    counts = _counts(user, closed, timezone=timezone, shift=shift)
    shift_seconds = int(shift.total_seconds())
    kept = {
        row.day: row
        for row in db.session.scalars(
            select(PairingDay).where(
                PairingDay.enterprise_id == user.enterprise_id,
                PairingDay.shift_seconds == shift_seconds,
                PairingDay.day.in_(closed),
            )
        )
    }
    stale = []
    for day in closed:
        row = kept.get(day)
        if row is not None and (row.events, row.worker_events) == counts[day]:
            found.extend(_loaded(item) for item in row.flags)
        else:
            stale.append(day)
    fresh: list[dict[str, Any]] = []
    for first, last in _runs(stale):
        paired = _found_between(user, first, last, timezone=timezone, shift=shift, now=now)
        by_day: dict[date, list[tuple[int, Anomaly]]] = defaultdict(list)
        for item in paired:
            by_day[local_today(item[1].passage.at, timezone)].append(item)
        found.extend(paired)
        fresh.extend(
            {
                "enterprise_id": user.enterprise_id,
                "day": day,
                "shift_seconds": shift_seconds,
                "events": counts[day][0],
                "worker_events": counts[day][1],
                "flags": [_stored(item) for item in by_day[day]],
            }
            for day in _days(first, last)
        )
    if fresh:
        _keep(fresh)
    if len(closed) < len(days):
        found.extend(
            _found_between(user, days[len(closed)], day_to, timezone=timezone, shift=shift, now=now)
        )
    return found


def _found_between(
    user: User, first: date, last: date, *, timezone: str, shift: timedelta, now: datetime
) -> list[tuple[int, Anomaly]]:
    start, end = local_day_bounds(first, timezone)[0], local_day_bounds(last, timezone)[1]
    return _found(user, start, end, shift=shift, now=now)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) pairs: each run's events are read once."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def _counts(
    user: User, days: list[date], *, timezone: str, shift: timedelta
) -> dict[date, tuple[int, int]]:
    """Each day's events a shift either side: how many, and how many name a worker.

    The days' windows overlap, so the index of (enterprise, corrected time), which holds both,
    is counted once between each two of their bounds and the pieces summed per day: a filtered
    count per window and row cost SQLite seconds a week on a large site.
    """
    if not days:
        return {}
    windows = {}
    for day in days:
        start, end = local_day_bounds(day, timezone)
        windows[day] = (start - shift, end + shift)
    bounds = sorted({bound for window in windows.values() for bound in window})
    pieces = list(itertools.pairwise(bounds))
    counted = {
        piece: (events, worker_events)
        for piece, events, worker_events in db.session.execute(
            union_all(
                *(
                    select(literal(n), func.count(), func.count(GateEvent.worker_id)).where(
                        GateEvent.enterprise_id == user.enterprise_id,
                        GateEvent.corrected_at >= low,
                        GateEvent.corrected_at < high,
                    )
                    for n, (low, high) in enumerate(pieces)
                )
            )
        )
    }
    found = {}
    for day, (low, high) in windows.items():
        inside = [counted[n] for n, piece in enumerate(pieces) if low <= piece[0] < high]
        found[day] = (sum(piece[0] for piece in inside), sum(piece[1] for piece in inside))
    return found


def _keep(rows: list[dict[str, Any]]) -> None:
    """Store freshly paired days; of two visits pairing the same day at once, the later write
    stands, and either is true to the counts it carries."""
    insert = (
        postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    )
    statement = insert(PairingDay).values(rows)
    db.session.execute(
        statement.on_conflict_do_update(
            index_elements=["enterprise_id", "day", "shift_seconds"],
            set_={name: statement.excluded[name] for name in ("events", "worker_events", "flags")},
        )
    )


def _stored(item: tuple[int, Anomaly]) -> list[Any]:
    worker_id, anomaly = item
    later = anomaly.followed_by
    return [
        anomaly.flag,
        worker_id,
        _stored_passage(anomaly.passage),
        _stored_passage(later) if later is not None else None,
    ]


def _stored_passage(passage: Passage) -> list[str]:
    return [passage.at.isoformat(), passage.direction, passage.gate, passage.event_id]


def _loaded(stored: list[Any]) -> tuple[int, Anomaly]:
    flag, worker_id, passage, later = stored
    return worker_id, Anomaly(
        flag, _loaded_passage(passage), _loaded_passage(later) if later is not None else None
    )


def _loaded_passage(stored: list[str]) -> Passage:
    at, direction, gate, event_id = stored
    return Passage(datetime.fromisoformat(at), direction, gate, event_id)


def _passed(passage: Passage, gates: dict[int, str]) -> Passed:
    return Passed(
        uuid.UUID(passage.event_id), passage.direction, passage.at, gates.get(int(passage.gate), "")
    )


@dataclass(frozen=True)
class FlagPage:
    flags: list[Flag]  # newest first, PER_PAGE of them at most
    total: int


def pairing_flags(
    user: User,
    *,
    day_from: date,
    day_to: date,
    timezone: str,
    shift: timedelta,
    now: datetime,
    include_resolved: bool = False,
    page: int = 1,
) -> FlagPage:
    """One page of the flags of the user's workers on the local days from `day_from` to
    `day_to`, newest first, and how many there are; resolved ones only when asked for."""
    start, end = local_day_bounds(day_from, timezone)[0], local_day_bounds(day_to, timezone)[1]
    found = _flags_of_days(user, day_from, day_to, timezone=timezone, shift=shift, now=now)
    resolutions = {
        # Keyed as passages name events: a site's week has thousands of flags to look up.
        (str(resolution.event_id), resolution.flag): (resolution, resolver)
        for resolution, resolver in db.session.execute(
            scoped(PairingResolution, user)
            .join(GateEvent, GateEvent.id == PairingResolution.event_id)
            .outerjoin(User, User.id == PairingResolution.resolved_by_id)
            .add_columns(User.username)
            .where(GateEvent.corrected_at >= start, GateEvent.corrected_at < end)
        )
    }
    if not include_resolved:
        found = [
            (person, anomaly)
            for person, anomaly in found
            if (anomaly.passage.event_id, anomaly.flag) not in resolutions
        ]
    shown, people = _page_of(user, found, page)
    gates = gate_labels(user)
    flags = []
    for person, anomaly in shown:
        event = _passed(anomaly.passage, gates)
        resolution, resolver = resolutions.get((anomaly.passage.event_id, anomaly.flag), (None, ""))
        flags.append(
            Flag(
                flag=anomaly.flag,
                worker_id=person,
                name=people[person].name,
                code=people[person].code,
                event=event,
                followed_by=_passed(anomaly.followed_by, gates) if anomaly.followed_by else None,
                resolution=resolution,
                resolved_by=resolver or "",
            )
        )
    return FlagPage(flags=flags, total=len(found))


def _page_of(
    user: User, found: list[tuple[int, Anomaly]], page: int
) -> tuple[list[tuple[int, Anomaly]], dict[int, Person]]:
    """The `page`th PER_PAGE of `found` ordered newest first, then by name, event and flag, and
    the names it shows.

    A week of a large site flags thousands of people; only those whose flags share a moment
    with the page's first or last can change which flags it holds, so only theirs are read.
    """
    found.sort(key=lambda item: item[1].passage.at, reverse=True)
    first, last = (page - 1) * PER_PAGE, min(page * PER_PAGE, len(found))
    if first >= last:
        return [], {}
    newest, oldest = found[first][1].passage.at, found[last - 1][1].passage.at
    newer = sum(1 for _person, anomaly in found[:first] if anomaly.passage.at > newest)
    near = [item for item in found[newer:] if item[1].passage.at >= oldest]
    people = _people(user, {person for person, _anomaly in near})
    near.sort(
        key=lambda item: (
            -item[1].passage.at.timestamp(),
            people[item[0]].name,
            item[1].passage.event_id,
            item[1].flag,
        )
    )
    return near[first - newer : last - newer], people


def _people(user: User, ids: Iterable[int]) -> dict[int, Person]:
    rows = db.session.execute(
        scoped(Worker, user)
        .with_only_columns(Worker.id, Worker.full_name, Worker.employee_code)
        .where(Worker.id.in_(list(ids)))
    )
    return {worker_id: Person(name, code) for worker_id, name, code in rows}


def resolve_flag(
    user: User,
    event: GateEvent,
    flag: str,
    note: str,
    *,
    shift: timedelta,
    now: datetime,
    ip: str = "",
) -> PairingResolution:
    """Mark `flag` on `event` as settled by `user`; the event itself stays as the gate sent it."""
    if event.worker_id is None or not any(
        anomaly.flag == flag and anomaly.passage.event_id == str(event.id)
        for _person, anomaly in _found(
            user,
            event.corrected_at,
            event.corrected_at + timedelta(microseconds=1),
            shift=shift,
            now=now,
            worker_id=event.worker_id,
        )
    ):
        raise PairingError(_l("This record carries no such flag any more."))
    resolution = PairingResolution(
        enterprise_id=event.enterprise_id,
        event_id=event.id,
        flag=flag,
        note=note.strip(),
        resolved_by_id=user.id,
        resolved_at=now,
    )
    try:
        # A savepoint: a second resolution of the flag is refused without undoing the unit.
        with db.session.begin_nested():
            db.session.add(resolution)
    except IntegrityError as error:
        raise PairingError(_l("This flag is already resolved.")) from error
    record_audit(
        user,
        "pairing_flag.resolved",
        now=now,
        target_type="gate_event",
        target_id=event.id,
        enterprise_id=event.enterprise_id,
        ip=ip,
        details={"flag": flag, "note": resolution.note},
    )
    return resolution


def reopen_flag(user: User, event: GateEvent, flag: str, *, now: datetime, ip: str = "") -> None:
    """Take back a resolution made in error: the flag is open again, the audit log keeps both."""
    resolution = db.session.scalar(
        select(PairingResolution).where(
            PairingResolution.event_id == event.id, PairingResolution.flag == flag
        )
    )
    if resolution is None:
        raise PairingError(_l("This flag is not resolved."))
    record_audit(
        user,
        "pairing_flag.reopened",
        now=now,
        target_type="gate_event",
        target_id=event.id,
        enterprise_id=event.enterprise_id,
        ip=ip,
        details={
            "flag": flag,
            "note": resolution.note,
            "resolved_by_id": resolution.resolved_by_id,
            "resolved_at": resolution.resolved_at.isoformat(),
        },
    )
    db.session.delete(resolution)
