"""Elapsed-time SQL that SQLite and PostgreSQL spell differently."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


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
