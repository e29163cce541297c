"""PostgreSQL connections are set up for the consoles' short, parameter-sensitive queries."""

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
            assert connection.scalar(text("SHOW plan_cache_mode")) == "force_custom_plan"
            assert connection.scalar(text("SHOW jit")) == "off"
