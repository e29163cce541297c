"""The property of test_property.py for every other channel, through its service, over the SQL
store (SQLite, or PostgreSQL with TEST_DATABASE_URL): whatever the order, the repeats, the lost
answers and the failures before commit, once every record has been delivered and answered, each
is stored exactly once: 0 lost, 0 doubled.

A failure before commit is a store write that raises after the records were written in the
transaction; a lost answer is a delivery whose sender never learns the outcome, so delivers
again; repeats and reordering come from the drawn steps themselves.
"""

from __future__ import annotations

import abc
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from server.checkin.schemas import CheckinSchema
from server.checkin.services import CheckinRefused, record_checkin
from server.extensions import db
from server.hr.backfill.services import Options, commit_backfill
from server.hr.outbox.services import import_outbox_file
from server.models import GateEvent, RollCall, RollCallEntry, utcnow
from server.sync_store import SqlSyncStore
from sync.engine import Policy, apply_roll_call
from sync.schemas_rollcall import RollCallSchema
from sync.store import DeviceContext
from tests.api.wire import event
from tests.checkin.helpers import checkin_body
from tests.factories import (
    make_device,
    make_enterprise,
    make_gate,
    make_poster,
    make_user,
    make_worker,
)
from tests.hr.test_backfill import yesterday_at
from tests.hr.test_outbox_file import outbox, tablet_key

ITEMS = 4
FAIL = "fails_before_commit"
LOST = "answer_lost"
STEPS = st.lists(
    st.tuples(st.integers(0, ITEMS - 1), st.sampled_from((None, FAIL, LOST))), max_size=12
)
CHANNEL_SETTINGS = settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


class _Fault(Exception):
    pass


@contextmanager
def failing_after(name: str) -> Iterator[None]:
    """The store's `name` writes, then the database fails before the commit."""
    original = getattr(SqlSyncStore, name)

    def write_then_fail(self: SqlSyncStore, *args: Any, **kwargs: Any) -> Any:
        original(self, *args, **kwargs)
        raise _Fault("the disk filled up")

    with mock.patch.object(SqlSyncStore, name, write_then_fail):
        yield


class Channel(abc.ABC):
    """A channel's sender: `ITEMS` records it delivers by index, and what the server kept."""

    fails_at = "quarantine"

    @abc.abstractmethod
    def deliver(self, index: int) -> None: ...

    @abc.abstractmethod
    def assert_each_stored_once(self) -> None: ...


class SelfCheckins(Channel):
    def __init__(self) -> None:
        self.enterprise = make_enterprise()
        gate = make_gate(self.enterprise)
        self.poster = make_poster(enterprise=self.enterprise, gate=gate)
        make_worker(self.enterprise, employee_code="NV001", phone="0912345678")
        db.session.commit()
        now = utcnow()
        who = {"worker": {"employee_code": "NV001", "phone": "0912345678"}}
        self.bodies = [
            checkin_body(who, direction="out", at=now - timedelta(minutes=5 * (ITEMS - n)))
            for n in range(ITEMS)
        ]

    def deliver(self, index: int) -> None:
        raw = json.loads(json.dumps(self.bodies[index]))
        record_checkin(
            self.poster,
            CheckinSchema().load(raw),
            raw,
            secret="test",
            now=utcnow(),
            policy=Policy(),
        )

    def assert_each_stored_once(self) -> None:
        stored = db.session.scalars(
            select(GateEvent.id).where(GateEvent.enterprise_id == self.enterprise.id)
        ).all()
        assert sorted(str(i) for i in stored) == sorted(body["id"] for body in self.bodies)


class PaperLines(Channel):
    def __init__(self) -> None:
        self.enterprise = make_enterprise()
        self.gate = make_gate(self.enterprise, code="C1")
        make_worker(self.enterprise, employee_code="NV001")
        self.hr = make_user("hr", enterprise=self.enterprise)
        db.session.commit()
        self.times = [yesterday_at(6 + 3 * n, 0) for n in range(ITEMS)]

    def deliver(self, index: int) -> None:
        at = self.times[index]
        cells = {
            "code": "NV001",
            "direction": "in",
            "date": f"{at:%d/%m/%Y}",
            "time": f"{at:%H:%M}",
        }
        commit_backfill(
            self.hr,
            [{"line": 1, "cells": cells}],
            Options(tolerance=timedelta(minutes=10), gate_id=self.gate.id),
            now=utcnow(),
            timezone="Asia/Ho_Chi_Minh",
            policy=Policy(),
        )

    def assert_each_stored_once(self) -> None:
        stored = db.session.scalars(
            select(GateEvent.occurred_at).where(GateEvent.enterprise_id == self.enterprise.id)
        ).all()
        assert sorted(stored) == sorted(t.astimezone(stored[0].tzinfo) for t in self.times)


class TabletFiles(Channel):
    """Files a tablet exported at different times: each holds the events waiting then, so
    consecutive files overlap."""

    def __init__(self) -> None:
        self.enterprise = make_enterprise()
        gate = make_gate(self.enterprise)
        self.device, _ = make_device(gate)
        key = tablet_key(self.device)
        self.hr = make_user("hr", enterprise=self.enterprise)
        db.session.commit()
        self.events = [event(seq, gate.id) for seq in range(1, ITEMS + 2)]
        self.files = [
            json.dumps(outbox(self.device, key, self.events[n : n + 2])).encode()
            for n in range(ITEMS)
        ]

    def deliver(self, index: int) -> None:
        import_outbox_file(
            self.hr, self.files[index], filename="outbox.json", now=utcnow(), policy=Policy()
        )

    def assert_each_stored_once(self) -> None:
        stored = db.session.execute(
            select(GateEvent.id, GateEvent.seq).where(GateEvent.device_id == self.device.id)
        ).all()
        assert sorted((str(i), s) for i, s in stored) == sorted(
            (e["id"], e["seq"]) for e in self.events
        )


class RollCalls(Channel):
    """The versions of one roll call, each ticking one more person."""

    fails_at = "save_roll_call"

    def __init__(self) -> None:
        self.enterprise = make_enterprise()
        self.gate = make_gate(self.enterprise)
        device, _ = make_device(self.gate)
        db.session.commit()
        self.device = DeviceContext(device.id, self.enterprise.id)
        started = utcnow() - timedelta(minutes=30)
        roll_call_id = str(uuid.uuid4())
        self.raws = [
            {
                "id": roll_call_id,
                "version": version,
                "gate_id": self.gate.id,
                "started_at": started.isoformat(),
                "closed_at": None,
                "entries": [
                    {"key": f"v:khach {n}", "kind": "visitor", "name": f"Khách {n}"}
                    for n in range(version)
                ],
            }
            for version in range(1, ITEMS + 1)
        ]

    def deliver(self, index: int) -> None:
        raw = self.raws[index]
        store = SqlSyncStore(db.session)
        apply_roll_call(store, self.device, RollCallSchema().load(raw), raw, utcnow())

    def assert_each_stored_once(self) -> None:
        [stored] = db.session.scalars(
            select(RollCall).where(RollCall.enterprise_id == self.enterprise.id)
        ).all()
        entries = db.session.scalar(
            select(func.count(RollCallEntry.id)).where(RollCallEntry.roll_call_id == stored.id)
        )
        assert (stored.version, entries) == (ITEMS, ITEMS)


CHANNELS: dict[str, Callable[[], Channel]] = {
    "self check-in": SelfCheckins,
    "paper": PaperLines,
    "tablet file": TabletFiles,
    "roll call": RollCalls,
}


@pytest.mark.parametrize("name", list(CHANNELS))
@CHANNEL_SETTINGS
@given(steps=STEPS)
def test_whatever_the_faults_each_record_of_every_channel_is_stored_once(
    app: Flask, name: str, steps: list[tuple[int, str | None]]
) -> None:
    channel = CHANNELS[name]()
    unanswered = set(range(ITEMS))
    for index, fault in steps:
        if fault == FAIL:
            with failing_after(channel.fails_at):
                try:
                    channel.deliver(index)
                except _Fault:
                    continue
        else:
            channel.deliver(index)
        if fault != LOST:
            unanswered.discard(index)
    for index in sorted(unanswered):
        channel.deliver(index)
    db.session.expire_all()
    channel.assert_each_stored_once()


def test_a_refused_checkin_is_answered_and_stores_no_event(app: Flask) -> None:
    channel = SelfCheckins()
    body = {**channel.bodies[0], "worker": {"employee_code": "NV001", "phone": "0999999999"}}

    with pytest.raises(CheckinRefused):
        record_checkin(
            channel.poster,
            CheckinSchema().load(body),
            body,
            secret="test",
            now=utcnow(),
            policy=Policy(),
        )

    assert db.session.scalar(select(func.count(GateEvent.id))) == 0
