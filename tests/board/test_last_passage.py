"""The kept latest passage of each person stays equal to a recount from the events, through every
write that stores, re-attributes or deletes them; the pages reading it answer as the events do."""

from __future__ import annotations

import random
import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, true

from server import last_passage
from server.extensions import db
from server.hr.activity.services import resolve_event
from server.models import Gate, GateEvent, PersonLastPassage, Worker
from server.presence import last_entries
from server.retention import purge
from tests.board.test_seqs_stored import NOW, POLICY, PURGE_AT
from tests.board.test_seqs_stored import push as push_events
from tests.factories import make_device, make_enterprise, make_gate, make_user, make_worker


def kept() -> set[tuple[Any, ...]]:
    rows = db.session.execute(
        select(
            PersonLastPassage.enterprise_id,
            PersonLastPassage.worker_id,
            PersonLastPassage.visitor_id,
            PersonLastPassage.event_id,
            PersonLastPassage.direction,
            PersonLastPassage.gate_id,
            PersonLastPassage.corrected_at,
        )
    )
    return set(rows)


def recounted() -> set[tuple[Any, ...]]:
    """The plain definition, in Python: each (enterprise, person)'s greatest (time, id)."""
    latest: dict[tuple[Any, ...], Any] = {}
    for event in db.session.scalars(select(GateEvent)):
        if event.worker_id is not None:
            key = (event.enterprise_id, event.worker_id, None)
        elif event.visitor_id is not None:
            key = (event.enterprise_id, None, event.visitor_id)
        else:
            continue
        best = latest.get(key)
        if best is None or (event.corrected_at, event.id) > (best.corrected_at, best.id):
            latest[key] = event
    return {(*key, e.id, e.direction, e.gate_id, e.corrected_at) for key, e in latest.items()}


def push(device: Any, gate: Gate, rng: random.Random, workers: list[Worker], state: dict) -> None:
    events = []
    for _ in range(rng.randrange(0, 8)):
        if state["sent"] and rng.random() < 0.15:
            events.append(dict(rng.choice(state["sent"])))  # resent: stored once
            continue
        state["seq"] += 1
        # Late arrivals and ties: times from days ago to now, some on the same second.
        occurred = NOW - timedelta(seconds=rng.choice([0, 60, 3600]) * rng.randrange(0, 400))
        subject = (
            {"kind": "badge", "value": rng.choice(workers).badge_token}
            if rng.random() < 0.7
            else {"kind": "badge", "value": f"lạ-{rng.randrange(3)}"}  # unknown: resolved later
        )
        new = {
            "id": str(uuid.uuid4()),
            "seq": state["seq"],
            "occurred_at": occurred.isoformat(),
            "gate_id": gate.id,
            "direction": rng.choice(["in", "out"]),
            "subject": subject,
            "method": "scanner",
        }
        state["sent"].append(new)
        events.append(new)
    push_events(device, events)


@pytest.mark.parametrize("seed", range(4))
def test_kept_passages_equal_a_recount_after_pushes_resolutions_and_purges(
    app: Flask, seed: int
) -> None:
    rng = random.Random(seed)
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    device, _ = make_device(gate)
    workers = [make_worker(enterprise, employee_code=f"NV{i}") for i in range(5)]
    hr = make_user("hr", enterprise=enterprise)
    state: dict[str, Any] = {"seq": 0, "sent": []}
    for step in range(30):
        push(device, gate, rng, workers, state)
        if step % 7 == 6:
            unknown = db.session.scalars(
                select(GateEvent).where(GateEvent.subject_kind == "unresolved")
            ).first()
            if unknown is not None:
                resolve_event(hr, unknown, rng.choice(workers).employee_code, now=NOW)
        if step % 11 == 10:
            purge(PURGE_AT, POLICY, timezone="Asia/Ho_Chi_Minh", chunk_size=rng.randrange(1, 9))
        db.session.commit()
        assert kept() == recounted()
    last_passage.recount_all(db.session.connection())
    assert kept() == recounted()


def test_a_person_whose_latest_passage_is_after_now_is_judged_by_their_events(
    app: Flask,
) -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    device, _ = make_device(gate)
    worker = make_worker(enterprise)
    state: dict[str, Any] = {"seq": 0, "sent": []}
    for direction, minutes in (("in", -30), ("out", 5)):
        state["seq"] += 1
        new = {
            "id": str(uuid.uuid4()),
            "seq": state["seq"],
            "occurred_at": (NOW + timedelta(minutes=minutes)).isoformat(),
            "gate_id": gate.id,
            "direction": direction,
            "subject": {"kind": "badge", "value": worker.badge_token},
            "method": "scanner",
        }
        push_events(device, [new])
    inside = [PersonLastPassage.enterprise_id == enterprise.id]
    # The exit five minutes ahead (within the tolerance) has not happened yet at NOW.
    day = NOW - timedelta(days=1)
    rows = db.session.execute(last_entries(inside, true(), now=NOW, since=day)).all()
    assert [row.worker_id for row in rows] == [worker.id]
    # Bounded above too (an overdue list): the entry found among their events is kept or not.
    for before, found in (
        (NOW - timedelta(minutes=20), [worker.id]),
        (NOW - timedelta(hours=1), []),
    ):
        rows = db.session.execute(
            last_entries(inside, true(), now=NOW, since=day, before=before)
        ).all()
        assert [row.worker_id for row in rows] == found
    later = NOW + timedelta(minutes=10)
    assert not db.session.execute(last_entries(inside, true(), now=later, since=day)).all()
