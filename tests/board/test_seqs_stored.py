"""The stored-events count the board trusts stays exact through every write that moves events."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from server.board import health
from server.extensions import db
from server.models import Device, Gate, GateEvent, PurgedSeqRange, QuarantinedEvent
from server.retention import Policy, purge
from server.sync_store import SqlSyncStore, recount_seqs_stored
from sync.engine import apply_push
from sync.store import DeviceContext
from tests.factories import make_device, make_enterprise, make_gate

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
# Purged at NOW + 30 days, events older than 40 days go: those that occurred over 10 days ago.
PURGE_AT = NOW + timedelta(days=30)
POLICY = Policy(event_days=40, visitor_days=90, declaration_days=90, audit_days=1095)


def recounted(device: Device) -> int:
    return db.session.scalar(
        select(func.count()).where(
            GateEvent.device_id == device.id,
            GateEvent.seq_epoch == device.seq_epoch,
            GateEvent.seq.is_not(None),
        )
    )


def event(gate: Gate, seq: int, rng: random.Random) -> dict[str, Any]:
    occurred = NOW - timedelta(days=rng.uniform(0, 20))
    return {
        "id": str(uuid.uuid4()),
        "seq": seq,
        "occurred_at": occurred.isoformat(),
        "gate_id": gate.id,
        "direction": rng.choice(["in", "out"]),
        "subject": {"kind": "text", "value": "Khách"},
        "method": "manual",
    }


def push(device: Device, events: list[dict[str, Any]]) -> None:
    body = {
        "batch_id": str(uuid.uuid4()),
        "sent_at": NOW.isoformat(),
        "app_version": "1.0.0",
        "backlog": 0,
        "events": events,
    }
    apply_push(SqlSyncStore(db.session), DeviceContext(device.id, device.enterprise_id), body, NOW)


def random_batch(
    rng: random.Random, gate: Gate, other_gate: Gate, state: dict[str, Any]
) -> list[dict[str, Any]]:
    """New seqs with holes, resends, changed resends, refused events, now and then a restart."""
    if rng.random() < 0.1:
        state["seq"] = 0  # storage wiped: the tablet counts from 1 again
    batch: list[dict[str, Any]] = []
    for _ in range(rng.randrange(0, 8)):
        roll = rng.random()
        if roll < 0.15 and state["sent"]:
            batch.append(dict(rng.choice(state["sent"])))  # resent as it was
        elif roll < 0.25 and state["sent"]:
            changed = dict(rng.choice(state["sent"]), direction="in", note="sửa")
            batch.append(changed)  # same id, other content: a conflict, quarantined
        else:
            state["seq"] += rng.choice([1, 1, 1, 2, 4])  # a hole now and then
            new = event(other_gate if rng.random() < 0.1 else gate, state["seq"], rng)
            batch.append(new)  # another enterprise's gate: quarantined with its seq
            state["sent"].append(new)
    return batch


@pytest.mark.parametrize("seed", range(6))
def test_stored_count_equals_a_recount_after_random_pushes_and_purges(
    app: Flask, seed: int
) -> None:
    rng = random.Random(seed)
    gate = make_gate(make_enterprise())
    other_gate = make_gate(make_enterprise(name="Công ty khác"))
    device, _ = make_device(gate)
    state: dict[str, Any] = {"seq": 0, "sent": []}
    for step in range(40):
        push(device, random_batch(rng, gate, other_gate, state))
        if step % 13 == 12:
            purge(PURGE_AT, POLICY, timezone="Asia/Ho_Chi_Minh", chunk_size=rng.randrange(1, 9))
        db.session.commit()
        db.session.refresh(device)
        assert device.seqs_stored == recounted(device)
        trusted = health.missing_ranges([device.id])
        # The same gaps proven from the events alone, as if the count were unknown.
        device.seqs_stored = 0
        db.session.flush()
        assert trusted == health.missing_ranges([device.id])
        db.session.rollback()
    # The mix did restart the count, quarantine and purge.
    assert device.seq_epoch > 0
    assert db.session.scalar(select(func.count()).select_from(QuarantinedEvent))
    assert db.session.scalar(select(func.count()).select_from(PurgedSeqRange))


def test_recount_sets_the_count_of_records_written_around_the_store(app: Flask) -> None:
    gate = make_gate(make_enterprise())
    device, _ = make_device(gate, seq_epoch=1, highest_seq=3)
    for seq, epoch in ((1, 0), (2, 0), (1, 1), (3, 1), (None, 1)):
        db.session.add(
            GateEvent(
                id=uuid.uuid4(),
                enterprise_id=gate.enterprise_id,
                gate_id=gate.id,
                device_id=device.id,
                seq=seq,
                seq_epoch=epoch,
                direction="in",
                method="scanner",
                subject_type="text",
                subject_value="Khách",
                subject_kind="unresolved",
                occurred_at=NOW,
                occurred_offset_minutes=420,
                corrected_at=NOW,
                received_at=NOW,
                content_hash="x",
            )
        )
    db.session.flush()
    recount_seqs_stored(db.session)
    db.session.refresh(device)
    assert device.seqs_stored == 2
    assert health.missing_ranges([device.id]) == {device.id: [(2, 2)]}


def numbered(gate: Gate, seqs: list[int]) -> list[dict[str, Any]]:
    rng = random.Random(0)
    return [event(gate, seq, rng) for seq in seqs]


def test_a_refused_record_is_received_and_hides_no_gap(app: Flask) -> None:
    gate = make_gate(make_enterprise())
    stranger = make_gate(make_enterprise(name="Công ty khác"))
    device, _ = make_device(gate)
    first, second, fifth = numbered(gate, [1, 2, 5])
    [third] = numbered(stranger, [3])
    push(device, [first, second, third, fifth])
    db.session.commit()
    assert health.missing_ranges([device.id]) == {device.id: [(4, 4)]}


def test_a_conflict_quarantines_a_stored_seq_that_is_counted_once(app: Flask) -> None:
    gate = make_gate(make_enterprise())
    device, _ = make_device(gate)
    events = numbered(gate, [1, 2, 4])
    push(device, events)
    push(device, [dict(events[1], note="sửa")])
    db.session.commit()
    assert db.session.scalar(select(QuarantinedEvent.seq)) == 2
    assert health.missing_ranges([device.id]) == {device.id: [(3, 3)]}
