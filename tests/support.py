"""Settings for apps built by tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from server.settings import Settings


def database_url(tmp_dir: Path) -> str:
    """TEST_DATABASE_URL (PostgreSQL in CI's second run), else a SQLite file of this run."""
    return os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_dir / 'test.sqlite3'}"


def settings_for_tests(url: str, **overrides: object) -> Settings:
    """Settings for a test app: no secure cookies over plain HTTP, limits in memory."""
    base = Settings(
        secret_key="test-secret",
        database_url=url,
        testing=True,
        session_cookie_secure=False,
        ratelimit_storage_uri="memory://",
    )
    return replace(base, **overrides)


@contextmanager
def scratch_database(tmp_dir: Path, suffix: str) -> Iterator[str]:
    """A new empty database of the kind the run uses, dropped afterwards: a SQLite file in
    tmp_dir, or `<TEST_DATABASE_URL's database>_<suffix>` beside the suite's on PostgreSQL."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_dir / f'{suffix}.sqlite3'}"
        return
    url = make_url(base)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    try:
        with admin.connect() as connection:
            connection.execute(drop)
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(drop)
        admin.dispose()
