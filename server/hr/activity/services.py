"""The gate log as HR reads it: filters, keyset pages, timelines, resolving unknown people."""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import timezone as FixedOffset
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Row, Select, String, and_, cast, func, or_, select, tuple_

from server import last_passage
from server.access import scope_clause, scoped
from server.audit import record_audit
from server.clock import in_zone, local_day_bounds
from server.extensions import db
from server.hr.activity.sql import late_record, rare_method, seconds_between, unresolved
from server.models import (
    Device,
    Gate,
    GateEvent,
    PersonLastPassage,
    QuarantinedEvent,
    User,
    Visitor,
    Worker,
)
from server.models.events import LATE_FLOOR_SECONDS, RARE_METHODS
from server.text import fold

PAGE_SIZE = 50
# Rows fetched per round trip while an export streams: enough to keep the cursor busy, small
# enough that a million-row export never holds more than this in memory.
EXPORT_BATCH = 2000
LAG_CHOICES = {"5m": 5 * 60, "1h": 60 * 60, "1d": 24 * 60 * 60}


class ActivityError(Exception):
    """A request the service refuses, with a message for the user."""


@dataclass(frozen=True)
class LogFilter:
    """What the HR user narrowed the log to; every field optional."""

    day_from: date | None = None
    day_to: date | None = None
    gate_id: int | None = None
    person: str = ""
    direction: str = ""
    method: str = ""
    device_id: int | None = None
    unresolved_only: bool = False
    flagged_only: bool = False
    min_lag_seconds: int | None = None
    worker_id: int | None = None

    def describe(self) -> dict[str, Any]:
        """The filter as plain JSON, for the audit log."""
        return {
            name: value.isoformat() if isinstance(value, date) else value
            for name, value in self.__dict__.items()
            if value not in (None, "", False)
        }


class BrokenCursor(ValueError):
    """A page link that was cut or edited by hand."""


@dataclass(frozen=True)
class Cursor:
    """A keyset position: the last row shown, by (time, id)."""

    at: datetime
    row_id: Any

    def encode(self) -> str:
        raw = f"{self.at.isoformat()}|{self.row_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str, parse_id: Callable[[str], Any]) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
            at_text, id_text = raw.split("|", 1)
            at = datetime.fromisoformat(at_text)
            row_id = parse_id(id_text)
        except (binascii.Error, UnicodeDecodeError, ValueError) as error:
            raise BrokenCursor(text) from error
        if at.tzinfo is None:
            raise BrokenCursor(text)
        return cls(at=at.astimezone(UTC), row_id=row_id)


@dataclass(frozen=True)
class Page:
    rows: list[Row[Any]]
    next_cursor: str | None
    # The page link could not be read, so this is the first page.
    broken_cursor: bool = False


def _event_columns() -> Select[*tuple[Any, ...]]:
    """The log's columns, joined to the names HR reads; one flat row per event."""
    return (
        select(
            GateEvent.id,
            GateEvent.occurred_at,
            GateEvent.occurred_offset_minutes,
            GateEvent.received_at,
            GateEvent.direction,
            GateEvent.method,
            GateEvent.subject_kind,
            GateEvent.subject_type,
            GateEvent.subject_value,
            GateEvent.flags,
            GateEvent.note,
            GateEvent.worker_id,
            GateEvent.resolved_at,
            Worker.full_name.label("worker_name"),
            Worker.employee_code,
            Worker.department,
            Visitor.full_name.label("visitor_name"),
            Gate.code.label("gate_code"),
            Gate.name.label("gate_name"),
            Device.label.label("device_label"),
        )
        .join(Gate, Gate.id == GateEvent.gate_id)
        .outerjoin(Worker, Worker.id == GateEvent.worker_id)
        .outerjoin(Visitor, Visitor.id == GateEvent.visitor_id)
        .outerjoin(Device, Device.id == GateEvent.device_id)
    )


def _person_clause(user: User, text: str) -> Any:
    """Events of people whose name or code holds `text`, accents and case ignored."""
    needle = fold(text)
    workers = select(Worker.id).where(
        scope_clause(Worker, user),
        or_(
            Worker.search_name.contains(needle, autoescape=True),
            func.lower(Worker.employee_code).contains(needle, autoescape=True),
        ),
    )
    visitors = select(Visitor.id).where(
        scope_clause(Visitor, user),
        func.lower(Visitor.full_name).contains(text.strip().lower(), autoescape=True),
    )
    # What a guard typed for an unknown person is matched as typed, lower-cased.
    typed = and_(
        GateEvent.subject_kind == "unresolved",
        func.lower(GateEvent.subject_value).contains(text.strip().lower(), autoescape=True),
    )
    return or_(GateEvent.worker_id.in_(workers), GateEvent.visitor_id.in_(visitors), typed)


def events_of(
    user: User, model: type[GateEvent | PersonLastPassage | Worker] = GateEvent
) -> ColumnElement[bool]:
    """The user's events (or their people's latest passages, or their workers, with `model`):
    access.py's scope, plus the equality the log's index is walked by.

    scope_clause reads `enterprise_id IN (SELECT ...)`, which SQLite cannot follow in the order of
    the (enterprise_id, occurred_at, id) index, so every page would sort the enterprise's whole
    log. An HR user has exactly one enterprise; naming it lets both databases walk the index.
    """
    return and_(scope_clause(model, user), model.enterprise_id == user.enterprise_id)


def filtered_events(user: User, filters: LogFilter, *, timezone: str) -> Select[Any]:
    """The user's events matching `filters`, newest first, ties broken by id."""
    # One person's events are few and their own index finds them; naming the enterprise too
    # would lead SQLite to walk the whole log in time order looking for them.
    scope = scope_clause(GateEvent, user) if filters.worker_id else events_of(user)
    query = _event_columns().where(scope)
    if filters.day_from:
        query = query.where(
            GateEvent.occurred_at >= local_day_bounds(filters.day_from, timezone)[0]
        )
    if filters.day_to:
        query = query.where(GateEvent.occurred_at < local_day_bounds(filters.day_to, timezone)[1])
    if filters.gate_id:
        query = query.where(GateEvent.gate_id == filters.gate_id)
    if filters.device_id:
        query = query.where(GateEvent.device_id == filters.device_id)
    if filters.direction:
        query = query.where(GateEvent.direction == filters.direction)
    if filters.method:
        query = query.where(GateEvent.method == filters.method)
        if filters.method in RARE_METHODS:
            query = query.where(rare_method())
    if filters.worker_id:
        query = query.where(GateEvent.worker_id == filters.worker_id)
    if filters.unresolved_only:
        query = query.where(unresolved())
    if filters.flagged_only:
        query = query.where(cast(GateEvent.flags, String).notin_(["[]", "null"]))
    if filters.min_lag_seconds:
        query = query.where(
            seconds_between(GateEvent.occurred_at, GateEvent.received_at) > filters.min_lag_seconds
        )
        if filters.min_lag_seconds >= LATE_FLOOR_SECONDS:
            query = query.where(late_record())
    if filters.person.strip():
        query = query.where(_person_clause(user, filters.person))
    return query.order_by(GateEvent.occurred_at.desc(), GateEvent.id.desc())


def _keyset_page(
    query: Select[*tuple[Any, ...]],
    cursor: str | None,
    *,
    size: int,
    time_column: Any,
    id_column: Any,
    parse_id: Callable[[str], Any],
) -> Page:
    """The `size` rows of `query` after `cursor`, and the cursor after the last one if more remain.

    `query` is ordered by (time, id) descending; comparing the pair, not the time alone, is what
    keeps rows with equal times from being skipped or shown twice across pages.
    """
    broken = False
    if cursor:
        try:
            position = Cursor.decode(cursor, parse_id)
        except BrokenCursor:
            broken = True
        else:
            query = query.where(
                tuple_(time_column, id_column) < tuple_(position.at, position.row_id)
            )
    rows = list(db.session.execute(query.limit(size + 1)))
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = Cursor(getattr(last, time_column.key), last.id).encode()
    return Page(rows=rows, next_cursor=next_cursor, broken_cursor=broken)


def log_page(
    user: User, filters: LogFilter, *, timezone: str, cursor: str | None, size: int = PAGE_SIZE
) -> Page:
    """One page of the log after `cursor`, newest first."""
    return _keyset_page(
        filtered_events(user, filters, timezone=timezone),
        cursor,
        size=size,
        time_column=GateEvent.occurred_at,
        id_column=GateEvent.id,
        parse_id=uuid.UUID,
    )


def timeline_page(
    user: User,
    worker: Worker,
    *,
    now: datetime,
    timezone: str,
    cursor: str | None,
    ip: str = "",
) -> Page:
    """A person's movements, newest first; every view is audited (personal data)."""
    page = log_page(user, LogFilter(worker_id=worker.id), timezone=timezone, cursor=cursor)
    record_audit(
        user,
        "view_timeline",
        now=now,
        target_type="worker",
        target_id=worker.id,
        enterprise_id=worker.enterprise_id,
        ip=ip,
        details={"cursor": cursor or ""},
    )
    return page


def resolve_event(
    user: User, event: GateEvent, employee_code: str, *, now: datetime, ip: str = ""
) -> Worker:
    """Attach an unresolved event to the worker HR recognised, keeping what the gate sent."""
    if event.subject_kind != "unresolved":
        raise ActivityError(_l("This record is already linked to a person."))
    worker = db.session.scalar(
        scoped(Worker, user).where(Worker.employee_code == employee_code.strip())
    )
    if worker is None:
        raise ActivityError(_l("No worker has the employee code %(code)s.", code=employee_code))
    event.subject_kind = "worker"
    event.worker_id = worker.id
    event.resolved_by_id = user.id
    event.resolved_at = now
    db.session.flush()
    last_passage.recount(db.session.connection(), worker_ids=[worker.id])
    record_audit(
        user,
        "resolve_event",
        now=now,
        target_type="event",
        target_id=event.id,
        enterprise_id=event.enterprise_id,
        ip=ip,
        details={"worker_id": worker.id, "subject_value": event.subject_value},
    )
    return worker


def quarantined_page(user: User, *, cursor: str | None, size: int = PAGE_SIZE) -> Page:
    """What the enterprise's tablets sent that the server could not accept, newest first."""
    query = (
        select(
            QuarantinedEvent.id,
            QuarantinedEvent.received_at,
            QuarantinedEvent.event_id,
            QuarantinedEvent.seq,
            QuarantinedEvent.reason,
            QuarantinedEvent.message,
            QuarantinedEvent.raw,
            Device.label.label("device_label"),
        )
        .outerjoin(Device, Device.id == QuarantinedEvent.device_id)
        .where(scope_clause(QuarantinedEvent, user))
        .order_by(QuarantinedEvent.received_at.desc(), QuarantinedEvent.id.desc())
    )
    return _keyset_page(
        query,
        cursor,
        size=size,
        time_column=QuarantinedEvent.received_at,
        id_column=QuarantinedEvent.id,
        parse_id=int,
    )


def subject_label(row: Row[Any]) -> str:
    """Who an event is about, as HR reads it."""
    if row.worker_name:
        return f"{row.worker_name} ({row.employee_code})"
    if row.visitor_name:
        return row.visitor_name
    return row.subject_value


def device_time(at: datetime, offset_minutes: int) -> datetime:
    """The instant as the tablet's own clock showed it, with its stated offset."""
    return in_zone(at, FixedOffset(timedelta(minutes=offset_minutes)))


LOG_EXPORT_HEADER = (
    _l("Time (local)"),
    _l("Device time"),
    _l("Received"),
    _l("Direction"),
    _l("Gate"),
    _l("Person"),
    _l("Employee code"),
    _l("Department"),
    _l("As sent by the gate"),
    _l("Method"),
    _l("Tablet"),
    _l("Flags"),
    _l("Note"),
)


def export_log_rows(
    user: User, filters: LogFilter, *, timezone: str, words: Mapping[str, str]
) -> Iterator[list[Any]]:
    """Every matching event as a spreadsheet row, read in batches (server-side cursor).

    `words` spells directions and methods in the reader's language.

    The query is built now, while the user is loaded; it runs when the download starts reading.
    """
    query = filtered_events(user, filters, timezone=timezone).execution_options(
        yield_per=EXPORT_BATCH
    )
    return _log_rows(query, words)


def _log_rows(query: Select[Any], words: Mapping[str, str]) -> Iterator[list[Any]]:
    for row in db.session.execute(query):
        yield [
            row.occurred_at,
            device_time(row.occurred_at, row.occurred_offset_minutes).isoformat(),
            row.received_at,
            words.get(row.direction, row.direction),
            f"{row.gate_code} {row.gate_name}",
            row.worker_name or row.visitor_name or "",
            row.employee_code or "",
            row.department or "",
            row.subject_value,
            words.get(row.method, row.method),
            row.device_label or "",
            " ".join(row.flags or []),
            row.note or "",
        ]


def audit_export(
    user: User, what: str, fmt: str, details: dict[str, Any], *, now: datetime, ip: str = ""
) -> None:
    """Write down an export before its first byte leaves the server."""
    record_audit(
        user,
        f"export_{what}",
        now=now,
        target_type=what,
        enterprise_id=user.enterprise_id,
        ip=ip,
        details={"format": fmt, **details},
    )
