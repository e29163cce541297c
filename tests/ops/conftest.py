"""Fixtures for the operations tests: databases of their own, built by the migrations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade

from server import create_app
from server.extensions import db
from tests.support import scratch_database, settings_for_tests

# Where tests keep rate limits in Redis: CI's TEST_REDIS_URL, else database 4 of the shared one.
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/4")


def migrated_app(url: str, **overrides: object) -> Flask:
    """An app over `url`, its schema built by the migrations as `flask init-db` builds it."""
    application = create_app(settings_for_tests(url, **overrides))
    with application.app_context():
        upgrade()
    return application


def dispose(application: Flask) -> None:
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def migrated_url(tmp_path: Path) -> Iterator[str]:
    """A fresh database at the migrations' head."""
    with scratch_database(tmp_path, "ops") as url:
        dispose(migrated_app(url))
        yield url
