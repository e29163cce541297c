"""Push over HTTP: acks after commit, one stored copy per id, quarantine, the SyncBatch row."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.api import routes
from server.extensions import db
from server.models import Device, Gate, GateEvent, QuarantinedEvent, SyncBatch, Worker
from sync.engine import apply_push
from tests.api.wire import batch, error_code, event, post_json
from tests.factories import make_enterprise, make_gate


def stored_events() -> int:
    return db.session.scalar(select(func.count()).select_from(GateEvent)) or 0


def test_push_is_acked_per_event_and_recorded(
    client: FlaskClient,
    gate: Gate,
    worker: Worker,
    device: tuple[Device, str],
    auth: dict[str, str],
) -> None:
    badge = event(1, gate.id, subject={"kind": "badge", "value": f"GL1:W:{worker.badge_token}"})
    body = batch(badge, event(2, gate.id, direction="out"), backlog=7)

    response = post_json(client, "/sync/push", body, auth, compress=True)

    assert response.status_code == 200
    answer = response.get_json()
    assert [ack["status"] for ack in answer["acks"]] == ["accepted", "accepted"]
    assert answer["batch_id"] == body["batch_id"]
    assert (answer["highest_seq"], answer["missing_ranges"], answer["seq_reset"]) == (2, [], False)
    assert abs(answer["skew_seconds"]) < 60
    assert answer["server_time"].endswith("+00:00")
    stored = db.session.get(GateEvent, uuid.UUID(badge["id"]))
    assert stored is not None
    assert (stored.worker_id, stored.subject_kind, stored.subject_type) == (
        worker.id,
        "worker",
        "badge",
    )
    [row] = db.session.scalars(select(SyncBatch)).all()
    assert (row.accepted, row.duplicate, row.rejected, row.backlog) == (2, 0, 0, 7)
    assert row.client_batch_id == body["batch_id"]
    assert row.duration_ms is not None
    assert stored.batch_id == row.id
    db.session.refresh(device[0])
    assert (device[0].highest_seq, device[0].reported_backlog) == (2, 7)
    assert device[0].last_sync_at is not None


def test_resend_is_duplicate_and_stored_once(
    client: FlaskClient, gate: Gate, auth: dict[str, str]
) -> None:
    body = batch(event(1, gate.id), event(2, gate.id))
    post_json(client, "/sync/push", body, auth)

    again = post_json(client, "/sync/push", body, auth).get_json()

    assert [ack["status"] for ack in again["acks"]] == ["duplicate", "duplicate"]
    assert stored_events() == 2


def test_heartbeat_is_an_empty_push(client: FlaskClient, gate: Gate, auth: dict[str, str]) -> None:
    response = post_json(client, "/sync/push", batch(backlog=0), auth)

    assert response.status_code == 200
    assert response.get_json()["acks"] == []
    assert len(db.session.scalars(select(SyncBatch)).all()) == 1


def test_gate_of_another_enterprise_is_rejected_and_quarantined(
    client: FlaskClient, gate: Gate, auth: dict[str, str]
) -> None:
    foreign = make_gate(make_enterprise())
    body = batch(event(1, foreign.id), event(2, gate.id))

    answer = post_json(client, "/sync/push", body, auth).get_json()

    assert [ack.get("reason", ack["status"]) for ack in answer["acks"]] == [
        "unknown_gate",
        "accepted",
    ]
    [kept] = db.session.scalars(select(QuarantinedEvent)).all()
    assert (kept.reason, kept.event_id, kept.seq) == ("unknown_gate", body["events"][0]["id"], 1)
    assert str(foreign.id) in kept.raw
    assert stored_events() == 1


def test_same_batch_from_two_connections_is_stored_once(
    app: Flask, gate: Gate, auth: dict[str, str]
) -> None:
    body = batch(*(event(seq, gate.id) for seq in range(1, 301)))
    start = threading.Barrier(2)
    answers: list[dict[str, Any]] = []

    def send() -> None:
        client = app.test_client()
        start.wait()
        answers.append(post_json(client, "/sync/push", body, auth).get_json())

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert stored_events() == 300
    firsts = sorted(answer["acks"][0]["status"] for answer in answers)
    assert firsts == ["accepted", "duplicate"]
    for answer in answers:
        assert len({ack["status"] for ack in answer["acks"]}) == 1


def test_pushes_arriving_at_once_are_all_stored_and_on_sqlite_taken_one_at_a_time(
    app: Flask, gate: Gate, auth: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    running, most = 0, 0
    count = threading.Lock()

    def counted(*args: Any, **kwargs: Any) -> dict[str, Any]:
        nonlocal running, most
        with count:
            running += 1
            most = max(most, running)
        try:
            time.sleep(0.02)  # long enough for the others to arrive, were they let in
            return apply_push(*args, **kwargs)
        finally:
            with count:
                running -= 1

    monkeypatch.setattr(routes, "apply_push", counted)
    start = threading.Barrier(4)
    statuses: list[int] = []

    bodies = [batch(*(event(seq, gate.id) for seq in range(n, n + 50))) for n in (1, 51, 101, 151)]

    def send(body: dict[str, Any]) -> None:
        client = app.test_client()
        start.wait()
        statuses.append(post_json(client, "/sync/push", body, auth).status_code)

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [200] * 4
    assert stored_events() == 200
    if db.engine.dialect.name == "sqlite":
        # Its writes take turns anyway; a worker parsing another push would slow the writer.
        assert most == 1


def test_wiped_device_is_detected_and_shown_on_the_device(
    client: FlaskClient, gate: Gate, device: tuple[Device, str], auth: dict[str, str]
) -> None:
    post_json(client, "/sync/push", batch(*(event(seq, gate.id) for seq in (1, 2, 3))), auth)

    answer = post_json(client, "/sync/push", batch(event(1, gate.id)), auth).get_json()

    assert answer["seq_reset"] is True
    assert answer["acks"][0]["status"] == "accepted"
    assert stored_events() == 4
    db.session.refresh(device[0])
    assert (device[0].seq_epoch, device[0].seq_reset_count, device[0].seq_before_reset) == (1, 1, 3)
    assert device[0].seq_reset_at is not None


def test_rate_limit_answers_429_with_retry_after(
    app: Flask, client: FlaskClient, gate: Gate, auth: dict[str, str]
) -> None:
    app.config["API_PUSH_RATE_LIMIT"] = "2 per minute"
    try:
        codes = [post_json(client, "/sync/push", batch(), auth).status_code for _ in range(3)]
        limited = post_json(client, "/sync/push", batch(), auth)
    finally:
        del app.config["API_PUSH_RATE_LIMIT"]

    assert codes == [200, 200, 429]
    assert error_code(limited) == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0


def test_database_trouble_answers_503_with_retry_after(
    client: FlaskClient, gate: Gate, auth: dict[str, str], monkeypatch: Any
) -> None:
    from sqlalchemy.exc import OperationalError

    from server.sync_store import SqlSyncStore

    def locked(*_: Any) -> None:
        raise OperationalError("UPDATE device", {}, Exception("database is locked"))

    monkeypatch.setattr(SqlSyncStore, "open_batch", locked)

    response = post_json(client, "/sync/push", batch(event(1, gate.id)), auth)

    assert response.status_code == 503
    assert error_code(response) == "unavailable"
    assert int(response.headers["Retry-After"]) > 0
    assert stored_events() == 0
