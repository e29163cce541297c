"""What the benchmarks share: fresh databases built by the migrations, and the app over them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import psycopg
from flask import Flask
from flask_migrate import upgrade

from server import create_app
from server.settings import Settings

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# Several people may run benchmarks on one PostgreSQL: BENCH_PG_PREFIX keeps their databases apart.
PG_PREFIX = os.environ.get("BENCH_PG_PREFIX", "gatelog_bench")


def fresh_database(backend: str, name: str, scratch: Path) -> str:
    """An empty database named after the bench: a file in `scratch`, or a new PostgreSQL one."""
    if backend == "sqlite":
        return f"sqlite:///{scratch / (name + '.sqlite3')}"
    database = f"{PG_PREFIX}_{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{database}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"


def drop_database(url: str) -> None:
    """Drop a PostgreSQL bench database (a big one should not outlive its run)."""
    if url.startswith("postgresql"):
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def migrated_app(url: str, **settings: object) -> Flask:
    """The app over `url`, its schema built by the migrations as in production."""
    app = create_app(
        Settings(database_url=url, secret_key=secrets.token_urlsafe(32), **settings)  # type: ignore[arg-type]
    )
    with app.app_context():
        upgrade()
    return app
