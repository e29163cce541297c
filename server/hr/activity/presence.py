"""The HR presence page: who is on site (as server.presence answers it), by gate and department."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Select, Subquery, func, literal, select, true

from server.clock import local_day_bounds
from server.extensions import db
from server.hr.activity.services import EXPORT_BATCH, events_of
from server.hr.activity.sql import whole_hours_between
from server.models import (
    Gate,
    GateEvent,
    PersonLastPassage,
    User,
    UTCDateTime,
    Visitor,
    Worker,
)
from server.presence import (
    OVERDUE_LOOKBACK,
    PresentPerson,
    gate_labels,
    last_entries,
    last_passages,
    named_people,
    with_department_and_pass,
)

# The page names this many people per list; counts cover everyone, the export lists everyone.
LIST_LIMIT = 200


@dataclass(frozen=True)
class Listing:
    people: list[PresentPerson]  # the first LIST_LIMIT, newest entry first
    total: int


@dataclass(frozen=True)
class Presence:
    now: datetime
    shift_hours: float
    on_site: Listing
    overdue: Listing
    expired_passes: Listing
    by_gate: list[tuple[str, int]]
    by_department: list[tuple[str, int]]  # workers only; visitors are counted apart
    visitors_on_site: int


def presence(user: User, *, now: datetime, shift_hours: float) -> Presence:
    """On site now: the latest event is an entry no older than the shift length.

    Counted in SQL and named only for the lists shown: a large site has tens of thousands on site.
    """
    cutoff = now - timedelta(hours=shift_hours)
    kept = [events_of(user, PersonLastPassage)]
    workers = events_of(user, Worker)
    since = cutoff - OVERDUE_LOOKBACK
    latest = last_entries(kept, workers, now=now, since=since).order_by(None).subquery()
    on_site = latest.c.at >= cutoff
    expired = latest.c.valid_until < now
    # Flagged in a subquery and grouped by the flags' names: PostgreSQL cannot tell two binds of
    # the same value apart when it checks a GROUP BY expression.
    flags = select(
        latest.c.gate_id,
        latest.c.department,
        latest.c.visitor_id.is_not(None).label("visitor"),
        on_site.label("inside"),
        func.coalesce(expired, False).label("expired"),
    ).subquery()
    by_gate: Counter[int] = Counter()
    by_department: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for row in db.session.execute(select(*flags.c, func.count().label("n")).group_by(*flags.c)):
        totals["on_site" if row.inside else "overdue"] += row.n
        totals["expired"] += row.n if row.expired else 0
        if row.inside:
            by_gate[row.gate_id] += row.n
            totals["visitors"] += row.n if row.visitor else 0
            if not row.visitor:
                by_department[row.department or ""] += row.n
    gates = gate_labels(user)

    def listing(among: Subquery, where: ColumnElement[bool], total: int) -> Listing:
        rows = list(
            db.session.execute(
                select(among).where(where).order_by(among.c.at.desc()).limit(LIST_LIMIT)
            )
        )
        return Listing(people=named_people(user, rows, gates), total=total)

    # Each list reads the kept rows its people can be among, not everyone's filtered after. They
    # are few: each worker is looked up by key, not among the enterprise's.
    overdue = (
        last_entries(kept, true(), now=now, since=since, before=cutoff).order_by(None).subquery()
    )
    # A pass is a visitor's, and a visitor's row is keyed by the visitor alone.
    visitors = [PersonLastPassage.worker_id.is_(None), PersonLastPassage.visitor_id.is_not(None)]
    with_passes = (
        last_entries([*kept, *visitors], true(), now=now, since=since).order_by(None).subquery()
    )

    def newest_on_site() -> Listing:
        # The first LIST_LIMIT of tens of thousands: chosen by time alone, then joined to their
        # departments and passes, not all of them joined and then sorted.
        passages = last_passages(kept, now=now, since=since)
        newest = (
            select(passages)
            .where(passages.c.direction == "in", passages.c.at >= cutoff)
            .order_by(passages.c.at.desc())
            .limit(LIST_LIMIT)
            .subquery()
        )
        rows = list(db.session.execute(with_department_and_pass(newest, workers)))
        return Listing(people=named_people(user, rows, gates), total=totals["on_site"])

    gate_counts: Counter[str] = Counter()
    for gate_id, count in by_gate.items():
        gate_counts[gates.get(gate_id, "")] += count
    return Presence(
        now=now,
        shift_hours=shift_hours,
        on_site=newest_on_site(),
        overdue=listing(overdue, true(), totals["overdue"]),
        expired_passes=listing(with_passes, with_passes.c.valid_until < now, totals["expired"]),
        by_gate=sorted(gate_counts.items()),
        by_department=sorted(by_department.items()),
        visitors_on_site=totals["visitors"],
    )


PRESENCE_EXPORT_HEADER = (
    _l("Status"),
    _l("Person"),
    _l("Employee code"),
    _l("Department"),
    _l("Gate"),
    _l("Entered at"),
    _l("Pass valid until"),
)
STATUS_ON_SITE = _l("On site")
STATUS_NO_EXIT = _l("Entry without exit")


def export_presence_rows(
    user: User, *, now: datetime, shift_hours: float, statuses: tuple[str, str]
) -> Iterator[list[Any]]:
    """Everyone on site and every entry without an exit, as spreadsheet rows, streamed.

    `statuses` are the words for "on site" and "entry without exit" in the reader's language.
    The query is built now, while the user is loaded; it runs when the download starts reading.
    """
    cutoff = now - timedelta(hours=shift_hours)
    latest = last_entries(
        [events_of(user, PersonLastPassage)],
        events_of(user, Worker),
        now=now,
        since=cutoff - OVERDUE_LOOKBACK,
    ).subquery()
    query = (
        select(
            latest,
            Worker.full_name.label("worker_name"),
            Worker.employee_code,
            Visitor.full_name.label("visitor_name"),
            Gate.code.label("gate_code"),
            Gate.name.label("gate_name"),
        )
        .join(Gate, Gate.id == latest.c.gate_id)
        .outerjoin(Worker, Worker.id == latest.c.worker_id)
        .outerjoin(Visitor, Visitor.id == latest.c.visitor_id)
        .order_by(latest.c.at.desc())
        .execution_options(yield_per=EXPORT_BATCH)
    )
    return _presence_rows(query, cutoff, statuses)


def _presence_rows(
    query: Select[Any], cutoff: datetime, statuses: tuple[str, str]
) -> Iterator[list[Any]]:
    on_site, no_exit = statuses
    for row in db.session.execute(query):
        yield [
            on_site if row.at >= cutoff else no_exit,
            row.worker_name or row.visitor_name,
            row.employee_code or "",
            row.department or "",
            f"{row.gate_code} · {row.gate_name}",
            row.at,
            row.valid_until,
        ]


def hourly_movements(user: User, day: date, *, timezone: str) -> list[tuple[int, int, int]]:
    """(local hour, entries, exits) for each hour of `day`, by event time."""
    start, end = local_day_bounds(day, timezone)
    # Bucketing in a subquery binds the day's start once: PostgreSQL cannot tell two binds of the
    # same value apart when it checks the GROUP BY expression.
    bucketed = (
        select(
            whole_hours_between(literal(start, UTCDateTime), GateEvent.corrected_at).label("hour"),
            GateEvent.direction,
        )
        .where(
            events_of(user),
            GateEvent.corrected_at >= start,
            GateEvent.corrected_at < end,
        )
        .subquery()
    )
    counts = {
        (hour, direction): count
        for hour, direction, count in db.session.execute(
            select(bucketed.c.hour, bucketed.c.direction, func.count()).group_by(
                bucketed.c.hour, bucketed.c.direction
            )
        )
    }
    return [(hour, counts.get((hour, "in"), 0), counts.get((hour, "out"), 0)) for hour in range(24)]
