"""The property of test_property.py against the Flask app and its SQL store (SQLite or PostgreSQL).

Fewer examples than over the memory store: each one is real requests and real transactions.
The server-side failure before commit is a store write that raises inside the push transaction.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server.extensions import db
from server.models import GateEvent
from server.sync_store import SqlSyncStore
from sync.client import Response
from tests.factories import make_device, make_enterprise, make_gate
from tests.sync.test_client_app import FlaskTransport
from tests.sync.test_property import (
    LOSS,
    STEP,
    assert_server_holds_exactly_the_events,
    run_scenario,
)

APP_SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


@pytest.fixture
def unthrottled(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lift the per-device push limit: a scenario may push hundreds of one-event batches."""
    monkeypatch.setitem(app.config, "API_PUSH_RATE_LIMIT", "100000 per minute")


class _CommitFailure(Exception):
    pass


class AppWorld:
    """The Flask app behind its test client; one enterprise and gate per example."""

    def __init__(self, app: Flask) -> None:
        self.http = FlaskTransport(app.test_client())
        self.gate = make_gate(make_enterprise())
        self._fail = False
        self.transport = self

    def add_device(self) -> tuple[int, str, int]:
        device, token = make_device(self.gate)
        return device.id, token, self.gate.id

    def fail_next_commit(self) -> None:
        self._fail = True

    def stored(self, device_id: int) -> list[tuple[str, int]]:
        rows = db.session.execute(
            select(GateEvent.id, GateEvent.seq).where(GateEvent.device_id == device_id)
        )
        return [(str(event_id), seq) for event_id, seq in rows]

    def send(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        if not self._fail:
            return self.http.send(method, path, headers, body)
        self._fail = False
        with mock.patch.object(SqlSyncStore, "close_batch", side_effect=_CommitFailure):
            try:
                answer = self.http.send(method, path, headers, body)
            except _CommitFailure:
                # The test app propagates exceptions; gunicorn would have answered 500.
                return Response(500, {}, b'{"error": {"code": "internal_error"}}')
        return answer


@APP_SETTINGS
@given(steps=st.lists(STEP, max_size=25), batch_size=st.integers(1, 30))
def test_after_any_faults_the_app_holds_each_event_exactly_once(
    app: Flask, unthrottled: None, steps: list[tuple[Any, ...]], batch_size: int
) -> None:
    world = AppWorld(app)
    with tempfile.TemporaryDirectory() as workdir:
        tablets = run_scenario(world, steps, batch_size, Path(workdir))
        assert_server_holds_exactly_the_events(world, tablets)
        for tablet in tablets:
            tablet.client.close()


@APP_SETTINGS
@given(steps=st.lists(st.one_of(STEP, LOSS), max_size=25), batch_size=st.integers(1, 30))
def test_the_app_reports_gaps_exactly_for_events_never_sent(
    app: Flask, unthrottled: None, steps: list[tuple[Any, ...]], batch_size: int
) -> None:
    world = AppWorld(app)
    with tempfile.TemporaryDirectory() as workdir:
        tablets = run_scenario(world, steps, batch_size, Path(workdir))
        assert_server_holds_exactly_the_events(world, tablets)
        for tablet in tablets:
            tablet.client.close()
