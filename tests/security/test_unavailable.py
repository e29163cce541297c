"""A locked or unreachable database, or limiter store, is a 503 with Retry-After, never a 500.

Each test builds its own app over a database in the state it needs, whatever TEST_DATABASE_URL
names: a locked SQLite file, a PostgreSQL URL nobody answers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server import create_app
from server.errors import UNAVAILABLE_RETRY_AFTER_SECONDS
from server.extensions import db
from server.models import Zone
from tests.conftest import IsolatedRequestsClient
from tests.factories import login, make_user
from tests.support import settings_for_tests
from tests.sync.test_process import free_port

PAGE_MESSAGE = "Máy chủ tạm thời không kết nối được cơ sở dữ liệu."


def assert_unavailable_page(response: Any) -> None:
    assert response.status_code == 503
    # A rate-limited route (sign-in) carries the limiter's own Retry-After instead of ours.
    assert int(response.headers["Retry-After"]) > 0
    assert response.mimetype == "text/html"
    assert PAGE_MESSAGE in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


@pytest.fixture
def sqlite_app(tmp_path: Path) -> Iterator[Flask]:
    """An app over its own SQLite file, schema created."""
    application = create_app(settings_for_tests(f"sqlite:///{tmp_path / 'locked.sqlite3'}"))
    application.config["WTF_CSRF_ENABLED"] = False
    application.test_client_class = IsolatedRequestsClient
    with application.app_context():
        db.create_all()
        yield application
        db.session.remove()
        db.engine.dispose()


def test_console_write_on_a_locked_sqlite_is_a_503_page_and_writes_nothing(
    sqlite_app: Flask, tmp_path: Path
) -> None:
    client = sqlite_app.test_client()
    login(client, make_user("admin"))
    holder = sqlite3.connect(tmp_path / "locked.sqlite3", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        response = client.post("/admin/zones", data={"name": "KCN Bận"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert_unavailable_page(response)
    assert response.headers["Retry-After"] == str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    assert db.session.query(Zone).count() == 0
    db.session.rollback()
    again = client.post("/admin/zones", data={"name": "KCN Bận"})
    assert again.status_code == 302, again.get_data(as_text=True)
    assert again.headers["Location"] == "/admin/zones"
    assert db.session.query(Zone).count() == 1


@pytest.fixture
def unreachable_postgresql() -> Flask:
    """An app whose PostgreSQL URL names a port where nothing listens."""
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gatelog"
    application = create_app(settings_for_tests(url))
    application.config["WTF_CSRF_ENABLED"] = False
    return application


def test_unreachable_postgresql_is_a_503_for_pages_and_for_the_api(
    unreachable_postgresql: Flask,
) -> None:
    client = unreachable_postgresql.test_client()
    assert_unavailable_page(client.post("/auth/login", data={"username": "a", "password": "b"}))
    with client.session_transaction() as session:
        session["_user_id"] = "a-session-token"
    assert_unavailable_page(client.get("/hr/"))
    api = client.get("/api/v1/sync/roster", headers={"Authorization": "Bearer x"})
    assert api.status_code == 503
    assert api.get_json()["error"]["code"] == "unavailable"
    assert int(api.headers["Retry-After"]) > 0
    # A phone's self check-in script reads JSON, in the phone's language.
    checkin = client.post("/c/some-poster/checkins", json={"id": "x"})
    assert checkin.status_code == 503
    assert "Chưa có gì được lưu" in checkin.get_json()["error"]["message"]


def test_unreachable_rate_limit_store_is_a_503_not_a_500(tmp_path: Path) -> None:
    application = create_app(
        settings_for_tests(
            f"sqlite:///{tmp_path / 'limits.sqlite3'}",
            ratelimit_storage_uri=f"redis://127.0.0.1:{free_port()}/1",
        )
    )
    application.config["WTF_CSRF_ENABLED"] = False
    response = application.test_client().post(
        "/auth/login", data={"username": "a", "password": "b"}
    )
    assert_unavailable_page(response)
