"""What the HR console reads and changes, scoped to one enterprise."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from server.access import count_scoped
from server.clock import local_day_bounds, local_today
from server.models import Device, Gate, GateEvent, User, Worker


@dataclass(frozen=True)
class Overview:
    active_workers: int
    gates: int
    active_devices: int
    events_today: int
    unresolved_today: int


def overview(user: User, *, now: datetime, timezone: str) -> Overview:
    start, end = local_day_bounds(local_today(now, timezone), timezone)
    today = (GateEvent.occurred_at >= start, GateEvent.occurred_at < end)
    return Overview(
        active_workers=count_scoped(Worker, user, Worker.active.is_(True)),
        gates=count_scoped(Gate, user, Gate.active.is_(True)),
        active_devices=count_scoped(Device, user, Device.revoked_at.is_(None)),
        events_today=count_scoped(GateEvent, user, *today),
        unresolved_today=count_scoped(
            GateEvent, user, GateEvent.subject_kind == "unresolved", *today
        ),
    )
