"""Rows the SQL store writes at driver level read back exactly like rows written by the ORM."""

from __future__ import annotations

import fcntl
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from server.extensions import db
from server.models import GateEvent
from server.sync_store import SqlSyncStore
from sync.engine import apply_push
from sync.store import DeviceContext
from tests.factories import make_device, make_enterprise, make_event, make_gate

NOW = datetime(2026, 11, 23, 8, 0, 0, tzinfo=UTC)


def test_store_rows_sort_and_filter_with_orm_rows(app: Flask) -> None:
    gate = make_gate(make_enterprise())
    device, _ = make_device(gate)
    # Whole seconds: SQLite compares times as text, so the format must match to the digit.
    orm_row = make_event(gate, occurred_at=NOW - timedelta(minutes=2))
    pushed = {
        "id": str(uuid.uuid4()).upper(),
        "seq": 1,
        "occurred_at": "2026-11-23T14:59:00+07:00",
        "gate_id": gate.id,
        "direction": "out",
        "subject": {"kind": "text", "value": "Khách"},
        "method": "manual",
        "visitor": {"name": "Phạm Thị D", "organisation": "Công ty Y"},
    }
    body = {
        "batch_id": str(uuid.uuid4()),
        "sent_at": NOW.isoformat(),
        "app_version": "1.0.0",
        "backlog": 0,
        "events": [pushed],
    }

    apply_push(SqlSyncStore(db.session), DeviceContext(device.id, gate.enterprise_id), body, NOW)

    in_window = db.session.scalars(
        select(GateEvent)
        .where(GateEvent.occurred_at >= NOW - timedelta(minutes=2))
        .order_by(GateEvent.occurred_at)
    ).all()
    assert [row.id for row in in_window] == [orm_row.id, uuid.UUID(pushed["id"])]
    stored = in_window[1]
    assert stored.occurred_at == NOW - timedelta(minutes=1)
    assert stored.occurred_offset_minutes == 420
    assert stored.received_at == NOW
    assert stored.visitor_details == {"name": "Phạm Thị D", "organisation": "Công ty Y"}
    assert stored.flags == []
    assert (stored.subject_type, stored.subject_kind) == ("text", "unresolved")


def test_a_dead_clock_battery_costs_no_record(app: Flask) -> None:
    gate = make_gate(make_enterprise())
    device, _ = make_device(gate)
    # The tablet's clock restarted at 1970: its times are kept as sent and corrected by skew.
    body = {
        "batch_id": str(uuid.uuid4()),
        "sent_at": "1970-01-02T00:00:00Z",
        "app_version": "1.0.0",
        "backlog": 0,
        "events": [
            {
                "id": str(uuid.uuid4()),
                "seq": 1,
                "occurred_at": "1970-01-01T23:59:00Z",
                "gate_id": gate.id,
                "direction": "in",
                "subject": {"kind": "text", "value": "Khách"},
                "method": "manual",
            }
        ],
    }

    answer = apply_push(
        SqlSyncStore(db.session), DeviceContext(device.id, gate.enterprise_id), body, NOW
    )

    assert answer["acks"][0]["status"] == "accepted"
    stored = db.session.scalars(select(GateEvent)).one()
    assert stored.occurred_at == datetime(1970, 1, 1, 23, 59, tzinfo=UTC)
    assert stored.corrected_at == NOW - timedelta(minutes=1)
    assert stored.flags == ["clock_skew"]


def test_sqlite_pushes_wait_their_turn_and_store_once_it_comes(app: Flask) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("only SQLite has one writer for the whole database")
    gate = make_gate(make_enterprise())
    device, _ = make_device(gate)
    context = DeviceContext(device.id, gate.enterprise_id)
    body = {
        "batch_id": str(uuid.uuid4()),
        "sent_at": NOW.isoformat(),
        "app_version": "1.0.0",
        "backlog": 0,
        "events": [
            {
                "id": str(uuid.uuid4()),
                "seq": 1,
                "occurred_at": "2026-11-23T14:59:00+07:00",
                "gate_id": gate.id,
                "direction": "in",
                "subject": {"kind": "text", "value": "Khách"},
                "method": "manual",
            }
        ],
    }
    answers: list[dict[str, Any]] = []

    def push_from_another_worker() -> None:
        with app.app_context():
            answers.append(apply_push(SqlSyncStore(db.session), context, body, NOW))
            db.session.remove()

    # Another worker's push holds the turn: this one queues behind it instead of polling.
    with open(f"{db.engine.url.database}.push-lock", "a") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)
        waiting = threading.Thread(target=push_from_another_worker)
        waiting.start()
        waiting.join(timeout=0.5)
        assert waiting.is_alive()
        assert db.session.scalar(select(func.count()).select_from(GateEvent)) == 0
    waiting.join()

    assert [ack["status"] for ack in answers[0]["acks"]] == ["accepted"]
    assert db.session.scalar(select(func.count()).select_from(GateEvent)) == 1
