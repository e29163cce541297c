"""Shared fixtures: one schema per run, emptied after every test; SQLite or PostgreSQL."""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from server import create_app
from server.extensions import db, limiter
from tests.browser import CHROMIUM_FLAGS, require_chromium, serve_in_thread
from tests.support import database_url, settings_for_tests


class IsolatedRequestsClient(FlaskClient):
    """Runs each request in its own app context, as production does.

    Otherwise a request would reuse the test's app context: its database session, `g` and the
    cached locale would leak from one request into the next.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture(scope="session")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app over a freshly created schema, shared by the whole run."""
    application = create_app(settings_for_tests(database_url(tmp_path_factory.mktemp("db"))))
    application.config["WTF_CSRF_ENABLED"] = False
    application.test_client_class = IsolatedRequestsClient
    with application.app_context():
        db.drop_all()
        db.create_all()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


def _empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{table.name}"' for table in tables)
        db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(autouse=True)
def _app_context(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each database test runs in an app context and leaves every table empty."""
    if "app" not in request.fixturenames:
        yield
        return
    application: Flask = request.getfixturevalue("app")
    _bind_limiter_to(application)
    with application.app_context():
        yield
        db.session.rollback()
        _empty_all_tables()
        limiter.reset()


def _bind_limiter_to(application: Flask) -> None:
    """Point the one Limiter back at the shared app's storage.

    The Limiter is a single object, and `init_app` re-points its storage for every app built: a
    test that builds an app with its limits in a Redis that is down would otherwise leave every
    later test's requests failing against that Redis.
    """
    if application.extensions.get("test_limiter_storage") is not limiter.storage:
        limiter.init_app(application)
        application.extensions["test_limiter_storage"] = limiter.storage


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser-like client without CSRF tokens (CSRF has its own tests)."""
    return app.test_client()


@pytest.fixture
def csrf_enabled(app: Flask) -> Iterator[None]:
    """Turn CSRF checking on for one test, as in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture(scope="session")
def playwright() -> Iterator[Any]:
    """Playwright over the machine's Chromium (see tests/browser.py for a missing one)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as running:
        yield running


@pytest.fixture
def browser(playwright: Any) -> Iterator[Any]:
    """A headless Chromium for one test."""
    launched = playwright.chromium.launch(executable_path=require_chromium(), args=CHROMIUM_FLAGS)
    yield launched
    launched.close()


@pytest.fixture
def live_url(app: Flask) -> Iterator[str]:
    """The test app served over HTTP on 127.0.0.1 for one test, for a browser to visit."""
    with serve_in_thread(app) as url:
        yield url
