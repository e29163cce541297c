"""Fixtures for the gate app in a real browser against a real server process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.e2e.harness import (
    LiveServer,
    Tablet,
    World,
    copy_pwa,
    e2e_database,
    make_app,
    reset_schema,
    seed_world,
)


@dataclass
class Site:
    """The seeded database, the in-process app that reads it, the server process serving it and
    the copy of pwa/ it serves (a test may deploy a new version there)."""

    app: Flask
    world: World
    server: LiveServer
    pwa_root: Path


@pytest.fixture(scope="session")
def e2e_url(tmp_path_factory: pytest.TempPathFactory, playwright: Any) -> Iterator[str]:
    """The browser tests' database URL, for the whole run (dropped afterwards on PostgreSQL)."""
    with e2e_database(tmp_path_factory.mktemp("e2e-db")) as url:
        yield url


@pytest.fixture
def site(tmp_path: Path, e2e_url: str) -> Iterator[Site]:
    """A freshly seeded database served by gunicorn; the server is killed after the test."""
    url = e2e_url
    app = make_app(url)
    reset_schema(app)
    world = seed_world(app)
    pwa_root = copy_pwa(tmp_path / "pwa")
    server = LiveServer(url, pwa_root, tmp_path / "server.log")
    server.start()
    yield Site(app=app, world=world, server=server, pwa_root=pwa_root)
    server.kill()
    from server.extensions import db

    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def open_tablet(tmp_path: Path, playwright: Any) -> Iterator[Callable[..., Tablet]]:
    """open_tablet(base_url, extra_args=(), profile="tablet") opens a tablet; closed after."""
    opened: list[Tablet] = []

    def open_one(
        base_url: str, extra_args: tuple[str, ...] = (), profile: str = "tablet", **kwargs: Any
    ) -> Tablet:
        tablet = Tablet(playwright, tmp_path / profile, base_url, extra_args).open(**kwargs)
        opened.append(tablet)
        return tablet

    yield open_one
    for tablet in opened:
        tablet.close()
