"""`seed-demo` outside debug: refused unless asked for, and then nothing in it is guessable."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from sqlalchemy import func, select

from server import create_app
from server.extensions import db
from server.models import Gate, User, Worker, Zone
from tests.support import settings_for_tests


@pytest.fixture
def production_app(app: Flask) -> Flask:
    """The test database served as production is: neither debug nor testing."""
    return create_app(settings_for_tests(app.config["SQLALCHEMY_DATABASE_URI"], testing=False))


def seed(application: Flask, *args: str):
    with application.app_context():
        return application.test_cli_runner().invoke(
            args=["seed-demo", "--workers", "20", "--days", "1", *args]
        )


def test_seed_demo_refuses_outside_debug_and_writes_nothing(production_app: Flask) -> None:
    result = seed(production_app)
    assert result.exit_code != 0
    assert "--outside-debug" in result.output
    assert "demo-admin" not in result.output
    assert db.session.scalar(select(func.count(Zone.id))) == 0


def test_seed_demo_outside_debug_prints_random_passwords_and_uses_random_tokens(
    production_app: Flask,
) -> None:
    result = seed(production_app, "--outside-debug")
    assert result.exit_code == 0, result.output
    assert "demo-" not in result.output
    printed = dict(re.findall(r"^\s+\w+\s+(\w+) / (\S+)$", result.output, flags=re.MULTILINE))
    assert set(printed) == {"admin", "inspector", "hr1", "hr2", "hr3", "hr4"}
    db.session.expire_all()
    users = {user.username: user for user in db.session.scalars(select(User))}
    for username, password in printed.items():
        assert len(password) >= 16
        assert users[username].check_password(password)
    assert len(set(printed.values())) == len(printed)
    first_tokens = set(db.session.scalars(select(Worker.badge_token)))
    first_tokens |= set(db.session.scalars(select(Gate.poster_token)))

    # The same seed again gives other tokens: none is derived from a seed anyone can read.
    with production_app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.commit()
    assert seed(production_app, "--outside-debug").exit_code == 0
    db.session.expire_all()
    second_tokens = set(db.session.scalars(select(Worker.badge_token)))
    second_tokens |= set(db.session.scalars(select(Gate.poster_token)))
    assert first_tokens.isdisjoint(second_tokens)
