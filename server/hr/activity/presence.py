"""The HR presence page: who is on site (as server.presence answers it), by gate and department."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, literal, select

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
    named_people,
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
    """On site now: the latest event is an entry no older than the shift length."""
    cutoff = now - timedelta(hours=shift_hours)
    rows = list(
        db.session.execute(
            last_entries(
                [events_of(user, PersonLastPassage)], now=now, since=cutoff - OVERDUE_LOOKBACK
            )
        )
    )
    inside = [row for row in rows if row.at >= cutoff]
    overdue = [row for row in rows if row.at < cutoff]
    expired = [row for row in rows if row.valid_until is not None and row.valid_until < now]
    gates = gate_labels(user)

    def listing(selected: list[Any]) -> Listing:
        return Listing(people=named_people(user, selected[:LIST_LIMIT], gates), total=len(selected))

    return Presence(
        now=now,
        shift_hours=shift_hours,
        on_site=listing(inside),
        overdue=listing(overdue),
        expired_passes=listing(expired),
        by_gate=sorted(Counter(gates.get(row.gate_id, "") for row in inside).items()),
        by_department=sorted(
            Counter(row.department or "" for row in inside if row.worker_id is not None).items()
        ),
        visitors_on_site=sum(row.visitor_id is not None for row in inside),
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
        [events_of(user, PersonLastPassage)], now=now, since=cutoff - OVERDUE_LOOKBACK
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
