"""SQL that SQLite and PostgreSQL spell differently, and the log's partial-index conditions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Boolean, ColumnElement, Integer, literal_column
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from server.models import GateEvent
from server.models.events import LATE_SQL, RARE_METHODS


class seconds_between(FunctionElement[int]):
    """Whole seconds from the first timestamp to the second."""

    type = Integer()
    name = "seconds_between"
    inherit_cache = True


class whole_hours_between(FunctionElement[int]):
    """Whole hours (rounded down) from the first timestamp to the second."""

    type = Integer()
    name = "whole_hours_between"
    inherit_cache = True


def _arguments(element: FunctionElement[Any], compiler: Any, **kw: Any) -> tuple[str, str]:
    start, end = element.clauses
    return compiler.process(start, **kw), compiler.process(end, **kw)


# SQLite keeps timestamps as text; strftime('%s') reads them as exact whole epoch seconds, where
# julianday() arithmetic would put an event at 01:00:00 into the 00:00 hour by rounding.
@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = _arguments(element, compiler, **kw)
    return f"(CAST(strftime('%s', {end}) AS INTEGER) - CAST(strftime('%s', {start}) AS INTEGER))"


@compiles(seconds_between, "postgresql")
def _seconds_postgresql(element: seconds_between, compiler: Any, **kw: Any) -> str:
    start, end = _arguments(element, compiler, **kw)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({end} - {start}))) AS INTEGER)"


@compiles(whole_hours_between, "sqlite")
def _hours_sqlite(element: whole_hours_between, compiler: Any, **kw: Any) -> str:
    start, end = _arguments(element, compiler, **kw)
    return (
        f"((CAST(strftime('%s', {end}) AS INTEGER) - CAST(strftime('%s', {start}) AS INTEGER))"
        " / 3600)"
    )


@compiles(whole_hours_between, "postgresql")
def _hours_postgresql(element: whole_hours_between, compiler: Any, **kw: Any) -> str:
    start, end = _arguments(element, compiler, **kw)
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({end} - {start})) / 3600) AS INTEGER)"


def rare_method() -> ColumnElement[bool]:
    """A manual, self or paper record: the condition of the log's rare-method index."""
    return GateEvent.method.in_([literal_column(f"'{method}'") for method in RARE_METHODS])


def unresolved() -> ColumnElement[bool]:
    """An unknown person's record: the condition of the log's unresolved index."""
    return GateEvent.subject_kind == literal_column("'unresolved'")


class late_record(ColumnElement[bool]):
    """Received over LATE_FLOOR_SECONDS after it occurred: the condition of the late index."""

    type = Boolean()
    inherit_cache = True


@compiles(late_record)
def _late(element: late_record, compiler: Any, **kw: Any) -> str:
    return LATE_SQL[compiler.dialect.name].format(
        received=compiler.process(GateEvent.received_at, **kw),
        occurred=compiler.process(GateEvent.occurred_at, **kw),
    )
