"""Settings for apps built by tests."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

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
