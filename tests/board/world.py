"""A small hand-built world whose sync-health answers are known exactly."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from server.extensions import db
from server.models import Device, Enterprise, Gate, QuarantinedEvent, SyncBatch, User, Zone
from tests.factories import (
    make_device,
    make_enterprise,
    make_event,
    make_gate,
    make_user,
    make_zone,
)

# 12:00 in Hanoi.
NOW = datetime(2026, 3, 10, 5, 0, tzinfo=UTC)


@dataclass
class World:
    zone: Zone
    other_zone: Zone
    ent: Enterprise
    other: Enterprise
    outside: Enterprise
    g1: Gate
    g2: Gate
    g3: Gate
    gapped: Device
    slow: Device
    revoked: Device
    fresh: Device
    never: Device
    inspector: User
    admin: User


def build_world(now: datetime = NOW) -> World:
    """The world as seen at `now` (12:00 in Hanoi on a fixed day unless told)."""
    zone, other_zone = make_zone(name="KCN Quế Võ"), make_zone(name="KCN Yên Phong")
    ent = make_enterprise(name="Công ty May Hà Bắc", zone_id=zone.id)
    other = make_enterprise(name="Công ty Điện tử Yên Phong", zone_id=other_zone.id)
    outside = make_enterprise(name="Xưởng Gỗ Ngoài Khu", zone_id=None)
    g1, g2, g3 = make_gate(ent, code="C1"), make_gate(ent, code="C2"), make_gate(ent, code="C3")
    # A tablet with a known gap (seqs 4-6 never arrived; 9 was quarantined) and a known skew.
    gapped, _ = make_device(
        g1,
        label="Máy cổng 1",
        highest_seq=10,
        last_sync_at=now - timedelta(minutes=5),
        last_skew_seconds=-300.0,
        app_version="1.4.2",
    )
    for seq in (1, 2, 3, 7, 8, 10):
        occurred = now - timedelta(hours=3) + timedelta(minutes=seq)
        make_event(
            g1,
            device=gapped,
            seq=seq,
            occurred_at=occurred,
            received_at=occurred + timedelta(minutes=2),
        )
    db.session.add(
        QuarantinedEvent(
            enterprise_id=ent.id,
            device_id=gapped.id,
            seq=9,
            reason="unknown_gate",
            raw="{}",
            received_at=now,
        )
    )
    for hours_ago, accepted in ((8 * 24, 2), (2, 4)):
        db.session.add(
            SyncBatch(
                client_batch_id=f"b{hours_ago}",
                device_id=gapped.id,
                received_at=now - timedelta(hours=hours_ago),
                accepted=accepted,
            )
        )
    slow, _ = make_device(
        g2,
        label="Máy cổng 2",
        last_sync_at=now - timedelta(hours=2),
        reported_backlog=7,
        oldest_pending_at=now - timedelta(hours=3),
    )
    # Revoked at 12:00 after a morning of work: its records stay, the gate no longer counts it.
    revoked, _ = make_device(
        g2, label="Máy cũ", last_sync_at=now - timedelta(minutes=10), revoked_at=now, highest_seq=2
    )
    make_event(g2, device=revoked, seq=1, occurred_at=now - timedelta(hours=4))
    make_event(g2, device=revoked, seq=2, occurred_at=now - timedelta(hours=1))
    fresh, _ = make_device(
        make_gate(other, code="D1"), label="Máy Yên Phong", last_sync_at=now - timedelta(minutes=1)
    )
    make_event(fresh.gate, device=fresh, seq=1, occurred_at=now - timedelta(days=1))
    never, _ = make_device(g3, label="Máy mới")
    stale_gate = make_gate(outside, code="X1")
    make_device(stale_gate, label="Máy xưởng", last_sync_at=now - timedelta(days=3))
    db.session.commit()
    inspector = make_user("inspector", zones=(zone,))
    admin = make_user("admin")
    return World(
        zone,
        other_zone,
        ent,
        other,
        outside,
        g1,
        g2,
        g3,
        gapped,
        slow,
        revoked,
        fresh,
        never,
        inspector,
        admin,
    )
