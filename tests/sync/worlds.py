"""The same small world of enterprises, gates, devices and people over each SyncStore adapter.

The store contract suite runs every test against both, so the in-memory store the property
tests rely on is held to what the SQL store really does.
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import select

from server.extensions import db
from server.models import (
    Device,
    Enterprise,
    Gate,
    GateEvent,
    QuarantinedEvent,
    RollCall,
    SelfCheckin,
    SyncBatch,
    Worker,
)
from server.roster import mark_changed
from server.sync_store import SqlSyncStore
from sync.memory_store import MemoryStore
from sync.store import DeviceContext, RosterPass, RosterPerson, SyncStore
from tests.factories import (
    make_device,
    make_enterprise,
    make_gate,
    make_poster,
    make_visitor_pass,
    make_worker,
)


class World(Protocol):
    store: SyncStore

    def enterprise(self) -> int: ...
    def gate(self, enterprise_id: int) -> int: ...
    def device(self, enterprise_id: int) -> DeviceContext: ...
    def worker(self, enterprise_id: int, badge: str, *, active: bool = True) -> int: ...
    def deactivate(self, worker_id: int) -> None: ...
    def visitor_pass(self, enterprise_id: int, token: str, now: datetime) -> int: ...
    def event(self, event_id: str) -> dict[str, Any] | None: ...
    def event_count(self) -> int: ...
    def quarantined(self) -> list[dict[str, Any]]: ...
    def device_state(self, device_id: int) -> dict[str, Any]: ...
    def batches(self) -> list[dict[str, Any]]: ...
    def poster(self, gate_id: int) -> int: ...
    def checkin(self, event_id: str) -> dict[str, Any] | None: ...
    def roll_call(self, roll_call_id: str) -> dict[str, Any] | None: ...


class MemoryWorld:
    def __init__(self) -> None:
        self.store = MemoryStore()
        self._ids = itertools.count(1)

    def enterprise(self) -> int:
        return next(self._ids)

    def gate(self, enterprise_id: int) -> int:
        gate_id = next(self._ids)
        self.store.add_gate(gate_id, enterprise_id)
        return gate_id

    def device(self, enterprise_id: int) -> DeviceContext:
        device_id = next(self._ids)
        self.store.add_device(device_id, enterprise_id)
        return DeviceContext(device_id, enterprise_id)

    def worker(self, enterprise_id: int, badge: str, *, active: bool = True) -> int:
        worker_id = next(self._ids)
        person = RosterPerson(
            worker_id, f"NV{worker_id}", "Lê Văn C", "May", badge, None, active, 0
        )
        self.store.put_person(enterprise_id, person)
        return worker_id

    def deactivate(self, worker_id: int) -> None:
        enterprise_id, person = self.store.people[worker_id]
        self.store.put_person(enterprise_id, replace(person, active=False))

    def visitor_pass(self, enterprise_id: int, token: str, now: datetime) -> int:
        pass_id = next(self._ids)
        valid = (now - timedelta(hours=1), now + timedelta(hours=8))
        self.store.put_pass(
            enterprise_id, RosterPass(pass_id, token, "Trần Thị Khách", None, *valid, True, 0)
        )
        return pass_id

    def event(self, event_id: str) -> dict[str, Any] | None:
        stored = self.store.events.get(event_id)
        if stored is None:
            return None
        batch_ref, row, epoch = stored
        return {
            "batch_ref": batch_ref,
            "device_id": row.device_id,
            "seq_epoch": epoch,
            "seq": row.seq,
            "direction": row.direction,
            "worker_id": row.worker_id,
            "pass_id": row.pass_id,
            "occurred_at": row.occurred_at,
            "corrected_at": row.corrected_at,
            "flags": list(row.flags),
            "note": row.note,
            "method": row.method,
            "visitor_id": row.visitor_id,
        }

    def event_count(self) -> int:
        return len(self.store.events)

    def poster(self, gate_id: int) -> int:
        return next(self._ids)

    def checkin(self, event_id: str) -> dict[str, Any] | None:
        record = self.store.checkins.get(event_id)
        if record is None:
            return None
        return {"poster_id": record.poster_id, "answers": len(record.answers)}

    def roll_call(self, roll_call_id: str) -> dict[str, Any] | None:
        row = self.store.roll_calls.get(roll_call_id)
        if row is None:
            return None
        return {
            "version": row.version,
            "device_id": row.device_id,
            "entries": {entry.key: entry.worker_id for entry in row.entries},
        }

    def quarantined(self) -> list[dict[str, Any]]:
        return [
            {"reason": row.reason, "event_id": row.event_id, "seq": row.seq, "raw": row.raw}
            for _, row in self.store.quarantined
        ]

    def device_state(self, device_id: int) -> dict[str, Any]:
        device = self.store.devices[device_id]
        update = device.link
        return {
            "seq_epoch": device.seq.epoch,
            "highest_seq": device.seq.highest_seq,
            "missing": [list(r) for r in device.seq.missing],
            "seq_reset_count": device.seq_reset_count,
            "seq_before_reset": device.highest_seq_before_reset,
            "backlog": update.backlog if update else 0,
            "app_version": update.app_version if update else "",
        }

    def batches(self) -> list[dict[str, Any]]:
        return [
            {
                "accepted": batch.closed.accepted if batch.closed else None,
                "duplicate": batch.closed.duplicate if batch.closed else None,
                "rejected": batch.closed.rejected if batch.closed else None,
                "seq_reset": batch.closed.seq_reset if batch.closed else None,
                "backlog": batch.opened.backlog,
            }
            for batch in self.store.batches.values()
        ]


class SqlWorld:
    def __init__(self) -> None:
        self.store = SqlSyncStore(db.session)
        self._enterprises: dict[int, Enterprise] = {}

    def enterprise(self) -> int:
        enterprise = make_enterprise()
        self._enterprises[enterprise.id] = enterprise
        return enterprise.id

    def gate(self, enterprise_id: int) -> int:
        return make_gate(self._enterprises[enterprise_id]).id

    def device(self, enterprise_id: int) -> DeviceContext:
        gate = make_gate(self._enterprises[enterprise_id])
        device, _ = make_device(gate)
        return DeviceContext(device.id, enterprise_id)

    def worker(self, enterprise_id: int, badge: str, *, active: bool = True) -> int:
        return make_worker(self._enterprises[enterprise_id], badge_token=badge, active=active).id

    def deactivate(self, worker_id: int) -> None:
        worker = db.session.get(Worker, worker_id)
        assert worker is not None
        worker.active = False
        mark_changed(worker)
        db.session.commit()

    def visitor_pass(self, enterprise_id: int, token: str, now: datetime) -> int:
        return make_visitor_pass(self._enterprises[enterprise_id], now=now, token=token).id

    def event(self, event_id: str) -> dict[str, Any] | None:
        row = db.session.get(GateEvent, uuid.UUID(event_id))
        if row is None:
            return None
        return {
            "batch_ref": row.batch_id,
            "device_id": row.device_id,
            "seq_epoch": row.seq_epoch,
            "seq": row.seq,
            "direction": row.direction,
            "worker_id": row.worker_id,
            "pass_id": row.visitor_pass_id,
            "occurred_at": row.occurred_at,
            "corrected_at": row.corrected_at,
            "flags": list(row.flags),
            "note": row.note,
            "method": row.method,
            "visitor_id": row.visitor_id,
        }

    def event_count(self) -> int:
        return len(db.session.scalars(select(GateEvent.id)).all())

    def poster(self, gate_id: int) -> int:
        gate = db.session.get(Gate, gate_id)
        assert gate is not None
        return make_poster(enterprise=gate.enterprise, gate=gate).id

    def checkin(self, event_id: str) -> dict[str, Any] | None:
        row = db.session.get(SelfCheckin, uuid.UUID(event_id))
        if row is None:
            return None
        return {"poster_id": row.poster_id, "answers": len(row.answers)}

    def roll_call(self, roll_call_id: str) -> dict[str, Any] | None:
        db.session.expire_all()
        row = db.session.scalar(
            select(RollCall).where(RollCall.client_id == uuid.UUID(roll_call_id))
        )
        if row is None:
            return None
        return {
            "version": row.version,
            "device_id": row.device_id,
            "entries": {entry.person_key: entry.worker_id for entry in row.entries},
        }

    def quarantined(self) -> list[dict[str, Any]]:
        rows = db.session.scalars(select(QuarantinedEvent).order_by(QuarantinedEvent.id))
        return [
            {"reason": row.reason, "event_id": row.event_id, "seq": row.seq, "raw": row.raw}
            for row in rows
        ]

    def device_state(self, device_id: int) -> dict[str, Any]:
        db.session.expire_all()
        device = db.session.get(Device, device_id)
        assert device is not None
        return {
            "seq_epoch": device.seq_epoch,
            "highest_seq": device.highest_seq,
            "missing": device.missing_seq_ranges,
            "seq_reset_count": device.seq_reset_count,
            "seq_before_reset": device.seq_before_reset,
            "backlog": device.reported_backlog,
            "app_version": device.app_version,
        }

    def batches(self) -> list[dict[str, Any]]:
        db.session.expire_all()
        rows = db.session.scalars(select(SyncBatch).order_by(SyncBatch.id))
        return [
            {
                "accepted": row.accepted,
                "duplicate": row.duplicate,
                "rejected": row.rejected,
                "seq_reset": row.seq_reset,
                "backlog": row.backlog,
            }
            for row in rows
        ]
