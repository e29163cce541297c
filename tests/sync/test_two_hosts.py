"""Two app hosts over one PostgreSQL and one Redis, as production scales out.

Two gunicorn servers (two workers each) on two ports stand for two hosts behind a balancer. One
tablet's batches race across both: each batch reaches both hosts at once, as when a timed-out
push is resent and lands on the other host. Nothing may be stored twice or lost, the device's
lock must hold across hosts (one host stores, the other answers duplicate), and the push limit
is counted once for the whole fleet, in Redis, not once per process.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis
from flask import Flask
from sqlalchemy import func, select

from server import create_app
from server.extensions import db
from server.models import Device, GateEvent
from tests.factories import make_device, make_enterprise, make_gate
from tests.sync.test_process import Gunicorn, free_port

# Redis database 1 of the machine's Redis unless the run names another (see .ci/run).
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/1")
# Over an hour, so that no run outlasts a window of the fixed-window count.
PUSH_LIMIT = 40
BATCHES = 12
BATCH_EVENTS = 50


def host_app() -> Flask:
    """The app as each host serves it, with a push limit small enough to reach in a test."""
    app = create_app()
    app.config["API_PUSH_RATE_LIMIT"] = f"{PUSH_LIMIT} per hour"
    return app


@pytest.fixture(scope="module")
def two_hosts(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[int]]:
    """Two gunicorn servers over the test database and one Redis; their ports."""
    logs = tmp_path_factory.mktemp("hosts")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    if url.startswith("sqlite"):
        pytest.skip(
            "two app hosts share one PostgreSQL server; SQLite is one host's embedded file "
            "(run with TEST_DATABASE_URL=postgresql+psycopg://…)"
        )
    redis.Redis.from_url(REDIS_URL).ping()
    hosts = []
    try:
        for number in (1, 2):
            host = Gunicorn(
                url,
                free_port(),
                logs / f"host{number}.log",
                workers=2,
                threads=4,
                app="tests.sync.test_two_hosts:host_app()",
            )
            host.env["RATELIMIT_STORAGE_URI"] = REDIS_URL
            hosts.append(host)
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(Gunicorn.start, hosts))
        yield [host.port for host in hosts]
    finally:
        for host in hosts:
            host.stop()


def push_body(events: list[dict[str, Any]], backlog: int) -> bytes:
    return json.dumps(
        {
            "batch_id": str(uuid.uuid4()),
            "sent_at": datetime.now(UTC).isoformat(),
            "app_version": "1.0.0",
            "backlog": backlog,
            "oldest_pending_at": None,
            "events": events,
        }
    ).encode()


def push(port: int, token: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/sync/push",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - 127.0.0.1
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_batches_raced_across_two_hosts_are_stored_once_under_one_device_lock(
    two_hosts: list[int],
) -> None:
    gate = make_gate(make_enterprise())
    device, token = make_device(gate)
    start = datetime.now(UTC) - timedelta(hours=2)
    bodies = []
    for batch in range(BATCHES):
        events = [
            {
                "id": str(uuid.uuid4()),
                "seq": seq,
                "occurred_at": (start + timedelta(seconds=seq)).isoformat(),
                "gate_id": gate.id,
                "direction": "in" if seq % 2 else "out",
                "subject": {"kind": "text", "value": f"Khách {seq}"},
                "method": "manual",
            }
            for seq in range(batch * BATCH_EVENTS + 1, (batch + 1) * BATCH_EVENTS + 1)
        ]
        bodies.append(push_body(events, (BATCHES - batch - 1) * BATCH_EVENTS))

    def send(port: int, body: bytes) -> tuple[int, dict[str, Any]]:
        # A host that waited too long for the device lock answers 503, and a tablet resends
        # after a pause (on a loaded machine at once again would meet the same queue).
        for attempt in range(5):
            status, answer = push(port, token, body)
            if status != 503:
                break
            time.sleep(0.5 * 2**attempt)
        return status, answer

    def send_all(port: int) -> list[tuple[int, dict[str, Any]]]:
        return [send(port, body) for body in bodies]

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(send_all, two_hosts))

    outcomes: dict[str, list[str]] = {}
    for host_answers in answers:
        for status, answer in host_answers:
            assert status == 200, answer
            for ack in answer["acks"]:
                outcomes.setdefault(ack["id"], []).append(ack["status"])
    assert len(outcomes) == BATCHES * BATCH_EVENTS
    # Whichever host took the device's lock first stored the event; the other saw it stored.
    assert {tuple(sorted(statuses)) for statuses in outcomes.values()} == {
        ("accepted", "duplicate")
    }
    db.session.rollback()
    stored = db.session.execute(
        select(
            func.count(), func.count(func.distinct(GateEvent.seq)), func.max(GateEvent.seq)
        ).where(GateEvent.device_id == device.id)
    ).one()
    assert tuple(stored) == (BATCHES * BATCH_EVENTS,) * 3
    settled = db.session.get(Device, device.id)
    assert settled is not None
    assert settled.highest_seq == BATCHES * BATCH_EVENTS
    assert settled.missing_seq_ranges == []


def test_push_limit_is_counted_once_for_both_hosts(two_hosts: list[int]) -> None:
    _device, token = make_device(make_gate(make_enterprise()))
    statuses = [
        push(two_hosts[attempt % 2], token, push_body([], 0)) for attempt in range(PUSH_LIMIT + 10)
    ]
    assert [status for status, _ in statuses].count(200) == PUSH_LIMIT
    refused = [answer for status, answer in statuses if status == 429]
    assert len(refused) == 10
    assert {answer["error"]["code"] for answer in refused} == {"rate_limited"}
