"""One contract for every SyncStore: the in-memory adapter and the SQLAlchemy one."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from sync.engine import apply_push, pull_roster
from sync.store import BatchClose, BatchOpen, DeviceContext
from tests.sync.worlds import MemoryWorld, SqlWorld, World

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
BADGE = "AAAAAAAAAAAAAAAAAAAA"


@pytest.fixture(params=["memory", "sql"])
def world(request: pytest.FixtureRequest, app: Flask) -> World:
    """The same world over the in-memory store and over the SQL store."""
    return MemoryWorld() if request.param == "memory" else SqlWorld()


@pytest.fixture
def site(world: World) -> dict[str, Any]:
    """Two enterprises, a gate and a device in each, and a worker with a badge in the first."""
    first, second = world.enterprise(), world.enterprise()
    return {
        "enterprise": first,
        "gate": world.gate(first),
        "device": world.device(first),
        "foreign_gate": world.gate(second),
        "foreign_device": world.device(second),
        "worker": world.worker(first, BADGE),
        "other_enterprise": second,
    }


def event(seq: int, gate_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "seq": seq,
        "occurred_at": (NOW - timedelta(minutes=3)).isoformat(),
        "gate_id": gate_id,
        "direction": "in",
        "subject": {"kind": "badge", "value": BADGE},
        "method": "camera",
        **overrides,
    }


def push(*events: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "batch_id": str(uuid.uuid4()),
        "sent_at": NOW.isoformat(),
        "app_version": "2.0.0",
        "backlog": 3,
        "oldest_pending_at": None,
        "events": list(events),
        **overrides,
    }


def statuses(answer: dict[str, Any]) -> list[str]:
    return [ack.get("reason", ack["status"]) for ack in answer["acks"]]


def test_new_device_has_an_empty_seq_state(world: World, site: dict[str, Any]) -> None:
    with world.store.transaction():
        state = world.store.lock_device(site["device"].device_id, NOW)

    assert (state.epoch, state.highest_seq, state.missing) == (0, 0, ())


def test_insert_reports_the_ids_that_existed_with_their_hash(
    world: World, site: dict[str, Any]
) -> None:
    device: DeviceContext = site["device"]
    body = push(event(1, site["gate"]), event(2, site["gate"]))
    apply_push(world.store, device, body, NOW)

    answer = apply_push(world.store, device, body, NOW)

    assert statuses(answer) == ["duplicate", "duplicate"]
    assert world.event_count() == 2


def test_push_stores_resolved_events_with_corrected_time(
    world: World, site: dict[str, Any]
) -> None:
    sent = NOW - timedelta(minutes=5)
    first = event(1, site["gate"], occurred_at=(sent - timedelta(minutes=1)).isoformat())

    answer = apply_push(world.store, site["device"], push(first, sent_at=sent.isoformat()), NOW)

    assert statuses(answer) == ["accepted"]
    stored = world.event(first["id"])
    assert stored is not None
    assert stored["worker_id"] == site["worker"]
    assert stored["corrected_at"] == NOW - timedelta(minutes=1)
    assert stored["occurred_at"] == sent - timedelta(minutes=1)
    assert stored["flags"] == ["clock_skew"]
    assert stored["seq_epoch"] == 0


def test_conflict_keeps_the_original_and_quarantines_the_other(
    world: World, site: dict[str, Any]
) -> None:
    original = event(1, site["gate"], note="<script>alert(1)</script>")
    apply_push(world.store, site["device"], push(original), NOW)

    answer = apply_push(
        world.store, site["device"], push({**original, "note": "'; DROP TABLE gate_event; --"}), NOW
    )

    assert statuses(answer) == ["conflict"]
    stored = world.event(original["id"])
    assert stored is not None
    assert stored["note"] == "<script>alert(1)</script>"
    [kept] = world.quarantined()
    assert kept["reason"] == "conflict"
    assert kept["event_id"] == original["id"]
    assert "DROP TABLE" in kept["raw"]


def test_gate_and_badge_of_another_enterprise_do_not_count(
    world: World, site: dict[str, Any]
) -> None:
    world.worker(site["other_enterprise"], "BBBBBBBBBBBBBBBBBBBB")
    foreign_badge = event(2, site["gate"], subject={"kind": "badge", "value": "B" * 20})

    answer = apply_push(
        world.store, site["device"], push(event(1, site["foreign_gate"]), foreign_badge), NOW
    )

    assert statuses(answer) == ["unknown_gate", "accepted"]
    stored = world.event(foreign_badge["id"])
    assert stored is not None
    assert stored["worker_id"] is None


def test_worker_id_and_pass_resolve(world: World, site: dict[str, Any]) -> None:
    pass_id = world.visitor_pass(site["enterprise"], "CCCCCCCCCCCCCCCCCCCC", NOW)
    by_id = event(1, site["gate"], subject={"kind": "worker", "value": str(site["worker"])})
    by_pass = event(2, site["gate"], subject={"kind": "pass", "value": "GL1:V:" + "C" * 20})

    apply_push(world.store, site["device"], push(by_id, by_pass), NOW)

    assert (world.event(by_id["id"]) or {})["worker_id"] == site["worker"]
    assert (world.event(by_pass["id"]) or {})["pass_id"] == pass_id


def test_device_state_and_batches_are_recorded(world: World, site: dict[str, Any]) -> None:
    device = site["device"].device_id
    apply_push(
        world.store, site["device"], push(event(1, site["gate"]), event(5, site["gate"])), NOW
    )
    apply_push(
        world.store,
        site["device"],
        push(event(3, site["gate"]), event(3, site["gate"]), backlog=0),
        NOW,
    )

    state = world.device_state(device)
    assert state["highest_seq"] == 5
    assert state["missing"] == [[2, 2], [4, 4]]
    assert state["app_version"] == "2.0.0"
    assert state["backlog"] == 0
    assert world.batches() == [
        {"accepted": 2, "duplicate": 0, "rejected": 0, "seq_reset": False, "backlog": 3},
        {"accepted": 1, "duplicate": 0, "rejected": 1, "seq_reset": False, "backlog": 0},
    ]


def test_seq_reset_starts_a_new_epoch(world: World, site: dict[str, Any]) -> None:
    device = site["device"]
    apply_push(world.store, device, push(*(event(s, site["gate"]) for s in (1, 2, 3))), NOW)
    restarted = event(1, site["gate"])

    answer = apply_push(world.store, device, push(restarted), NOW)

    assert answer["seq_reset"] is True
    assert statuses(answer) == ["accepted"]
    assert (world.event(restarted["id"]) or {})["seq_epoch"] == 1
    state = world.device_state(device.device_id)
    assert (state["seq_epoch"], state["highest_seq"]) == (1, 1)
    assert (state["seq_reset_count"], state["seq_before_reset"]) == (1, 3)
    assert world.batches()[-1]["seq_reset"] is True


def test_seq_owners_and_gates_are_scoped(world: World, site: dict[str, Any]) -> None:
    first = event(4, site["gate"])
    apply_push(world.store, site["device"], push(first), NOW)

    with world.store.transaction():
        owners = world.store.seq_owners(site["device"].device_id, 0, [4, 5])
        foreign = world.store.seq_owners(site["foreign_device"].device_id, 0, [4])
        gates = world.store.existing_gate_ids(
            site["enterprise"], [site["gate"], site["foreign_gate"], 999_999]
        )

    assert owners == {4: first["id"]}
    assert foreign == {}
    assert gates == {site["gate"]}


def test_a_failed_transaction_leaves_nothing(world: World, site: dict[str, Any]) -> None:
    device = site["device"]

    def write_then_fail() -> None:
        with world.store.transaction():
            world.store.lock_device(device.device_id, NOW)
            opened = BatchOpen(
                device.enterprise_id, device.device_id, "b", NOW, NOW, 0.0, "1", 0, None, 0
            )
            world.store.close_batch(
                world.store.open_batch(opened), BatchClose(0, 0, 0, 0, False, 1)
            )
            raise RuntimeError("the database went away")

    with pytest.raises(RuntimeError):
        write_then_fail()

    assert world.batches() == []
    assert world.event_count() == 0


def test_roster_pages_by_change_counter_within_the_enterprise(
    world: World, site: dict[str, Any]
) -> None:
    second = world.worker(site["enterprise"], "DDDDDDDDDDDDDDDDDDDD")
    world.worker(site["other_enterprise"], "EEEEEEEEEEEEEEEEEEEE")
    pass_id = world.visitor_pass(site["enterprise"], "FFFFFFFFFFFFFFFFFFFF", NOW)

    first_page = pull_roster(world.store, site["device"], {"limit": "2"}, NOW)
    rest = pull_roster(world.store, site["device"], {"cursor": str(first_page["next_cursor"])}, NOW)

    assert [p["id"] for p in first_page["people"]] == [site["worker"], second]
    assert first_page["has_more"] is True
    assert [p["id"] for p in rest["passes"]] == [pass_id]
    assert rest["has_more"] is False
    assert rest["passes"][0]["name"] == "Trần Thị Khách"


def test_roster_carries_a_tombstone_for_a_deactivated_worker(
    world: World, site: dict[str, Any]
) -> None:
    cursor = pull_roster(world.store, site["device"], {}, NOW)["next_cursor"]
    world.deactivate(site["worker"])

    page = pull_roster(world.store, site["device"], {"cursor": str(cursor)}, NOW)

    [tombstone] = page["people"]
    assert tombstone["id"] == site["worker"]
    assert tombstone["active"] is False
    assert page["next_cursor"] > cursor
