"""Connection set-up that differs between SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Collection
from typing import Any, cast

from sqlalchemy import ARRAY, ColumnElement, any_, event, literal
from sqlalchemy.engine import Connection, Engine

from server.models.types import UTCDateTime


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    # WAL lets readers work while a push is being written; the busy timeout makes concurrent
    # gunicorn workers wait for the write lock instead of failing.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # The commit that takes the WAL past this many pages copies them back into the database and
    # syncs it, inside the write lock every push waits for. At SQLite's 1,000 (4 MB) 500-event
    # pushes did so every few commits, copying the same hot index pages each time: under eight
    # tablets pushing, a commit took 17 ms at p50 instead of 1.5, and pushes stored 12,200
    # events/s. At 30,000 (about 120 MB) a commit took 4 ms, and they stored 15,900.
    cursor.execute("PRAGMA wal_autocheckpoint=30000")
    cursor.close()


def refresh_planner_statistics(connection: Connection) -> None:
    """Refresh SQLite's planner statistics, which nothing else keeps (PostgreSQL's autovacuum
    keeps its own). Without them SQLite guesses how many rows each index holds per key, and
    can walk every enterprise's workers where a handful of lookups would do."""
    if connection.dialect.name != "sqlite":
        return
    # A sample of each index, not all of it: milliseconds at a province's size.
    connection.exec_driver_sql("PRAGMA analysis_limit=1000")
    connection.exec_driver_sql("ANALYZE")


# psycopg prepares a statement that execute() has run `prepare_threshold` times, and PostgreSQL
# may then switch it to a generic plan blind to its parameters: the roll call went from 150 ms to
# 1,100 ms from its 10th run. executemany() prepares at once whatever the threshold (unless it is
# None): a push's 500-row insert is parsed once, not 500 times. Not plan_cache_mode=
# force_custom_plan either: that also replans the foreign-key checks of every inserted row, and
# made that insert three times slower.
_PREPARED_BY_EXECUTEMANY_ONLY = 2**62


def engine_options(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 10}}
    return {
        "pool_pre_ping": True,
        "pool_size": 5,
        "max_overflow": 5,
        # The consoles' queries read index ranges in milliseconds; PostgreSQL's JIT judges them by
        # estimated cost and compiled "gone home" for 300 ms at a province's scale.
        "connect_args": {
            "options": "-c jit=off",
            "prepare_threshold": _PREPARED_BY_EXECUTEMANY_ONLY,
        },
    }


def render_migration_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write our column types into migrations as plain SQLAlchemy ones.

    A migration must not import application code that may later change or vanish.
    """
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def among(column: Any, values: Collection[Any], dialect: str) -> ColumnElement[bool]:
    """`column IN values`; on PostgreSQL one array parameter, not one placeholder per value
    (a purge chunk's thousands of placeholders cost more to render and parse than the rows)."""
    if dialect == "postgresql":
        return cast(ColumnElement[bool], column == any_(literal(list(values), ARRAY(column.type))))
    return cast(ColumnElement[bool], column.in_(values))
