"""/healthz says the process is up; /readyz says it can serve: database, migrations, Redis."""

from __future__ import annotations

from flask_migrate import stamp

from server.extensions import db
from tests.e2e.harness import free_port
from tests.ops.conftest import REDIS_URL, dispose, migrated_app
from tests.support import settings_for_tests


def test_healthz_answers_without_a_session_or_the_database(tmp_path) -> None:
    from server import create_app

    # A database that cannot exist: the process is still up, and says so.
    app = create_app(settings_for_tests(f"sqlite:///{tmp_path}/missing/dir/x.sqlite3"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers


def test_readyz_is_ready_on_a_migrated_database(migrated_url: str) -> None:
    app = migrated_app(migrated_url)
    response = app.test_client().get("/readyz")
    dispose(app)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok"},
    }
    assert "Set-Cookie" not in response.headers


def test_readyz_is_503_while_migrations_are_behind(migrated_url: str) -> None:
    app = migrated_app(migrated_url)
    with app.app_context():
        stamp(revision="base")
        db.session.remove()
    response = app.test_client().get("/readyz")
    dispose(app)
    assert response.status_code == 503
    assert response.get_json()["checks"] == {"database": "ok", "migrations": "behind"}
    assert response.headers["Retry-After"]


def test_readyz_is_503_when_the_database_is_unreachable(tmp_path) -> None:
    from server import create_app

    sqlite_url = f"sqlite:///{tmp_path}/no/such/dir/gatelog.sqlite3"
    # Nothing listens on a port just found free: the PostgreSQL server is "down".
    postgres_url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/gatelog"
    for url in (sqlite_url, postgres_url):
        app = create_app(settings_for_tests(url))
        response = app.test_client().get("/readyz")
        assert response.status_code == 503, url
        assert response.get_json() == {
            "status": "not_ready",
            "checks": {"database": "unreachable", "migrations": "unknown"},
        }
        # The answer names no host, user or error text.
        assert "127.0.0.1" not in response.get_data(as_text=True)


def test_readyz_checks_redis_when_rate_limits_are_stored_there(migrated_url: str) -> None:
    up = migrated_app(migrated_url, ratelimit_storage_uri=REDIS_URL)
    down = migrated_app(migrated_url, ratelimit_storage_uri=f"redis://127.0.0.1:{free_port()}/4")
    answers = [app.test_client().get("/readyz") for app in (up, down)]
    for app in (up, down):
        dispose(app)
    assert answers[0].status_code == 200
    assert answers[0].get_json()["checks"]["redis"] == "ok"
    assert answers[1].status_code == 503
    assert answers[1].get_json()["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "redis": "unreachable",
    }
