"""Connections are set up for the workload: on PostgreSQL for the consoles' short,
parameter-sensitive queries; on SQLite for pushes written one at a time."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import text

from server.extensions import db


def test_postgresql_plans_each_statement_with_its_parameters_and_never_jit_compiles(
    app: Flask,
) -> None:
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("settings of PostgreSQL's planner")
        with db.engine.connect() as connection:
            # A prepared statement's generic plan ignores how few rows a time range holds.
            for number in range(12):
                connection.execute(text("SELECT :number + 1"), {"number": number})
            prepared = text("SELECT statement FROM pg_prepared_statements")
            assert connection.scalars(prepared).all() == []
            # A many-row insert is parsed once, and its foreign-key checks keep their plans.
            connection.exec_driver_sql("CREATE TEMPORARY TABLE scratch (n integer)")
            connection.exec_driver_sql("INSERT INTO scratch VALUES (%s)", [(1,), (2,), (3,)])
            assert [s.split(" (")[0] for s in connection.scalars(prepared)] == [
                "INSERT INTO scratch VALUES"
            ]
            assert connection.scalar(text("SHOW plan_cache_mode")) == "auto"
            assert connection.scalar(text("SHOW jit")) == "off"


def test_sqlite_connections_write_ahead_and_checkpoint_rarely(app: Flask) -> None:
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("settings of SQLite's journal")
        with db.engine.connect() as connection:
            pragma = connection.exec_driver_sql
            assert pragma("PRAGMA journal_mode").scalar() == "wal"
            assert pragma("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert pragma("PRAGMA foreign_keys").scalar() == 1
            # Not SQLite's 1,000 pages: a push's commit would copy the WAL back every few pushes.
            assert pragma("PRAGMA wal_autocheckpoint").scalar() == 30_000
