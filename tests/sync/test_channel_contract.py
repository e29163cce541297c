"""Every channel of gate records through the one engine, over the memory and the SQL store.

A tablet push has its own suite (test_store_contract.py); here the same engine takes a tablet
file, a self check-in, a paper line and a roll call, and each store must keep what it took
once, refuse into quarantine what it refused, and write nothing when the transaction fails.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask

from sync.engine import (
    PAPER,
    SELF,
    Delivery,
    Entry,
    Policy,
    Refusal,
    Source,
    apply_roll_call,
    apply_tablet_file,
    ingest,
)
from sync.store import BatchClose, CheckinRecord, DeviceContext, NewVisitor
from tests.sync.test_store_contract import BADGE, NOW, event, push
from tests.sync.worlds import MemoryWorld, SqlWorld, World

WEEK = timedelta(days=7)


@pytest.fixture(params=["memory", "sql"])
def world(request: pytest.FixtureRequest, app: Flask) -> World:
    """The same world over the in-memory store and over the SQL store."""
    return MemoryWorld() if request.param == "memory" else SqlWorld()


@pytest.fixture
def site(world: World) -> dict[str, Any]:
    """An enterprise with a gate, a tablet, a poster and a worker; a gate of another one."""
    enterprise, other = world.enterprise(), world.enterprise()
    gate = world.gate(enterprise)
    return {
        "enterprise": enterprise,
        "gate": gate,
        "device": world.device(enterprise),
        "other_device": world.device(enterprise),
        "poster": world.poster(gate),
        "worker": world.worker(enterprise, BADGE),
        "foreign_gate": world.gate(other),
    }


def checkin_event(site: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "seq": 0,
        "occurred_at": NOW - timedelta(minutes=2),
        "gate_id": site["gate"],
        "direction": "in",
        "subject": {"kind": "worker", "value": str(site["worker"])},
        "method": "self",
        "note": None,
        "visitor": None,
        **overrides,
    }


def self_checkin(
    world: World, site: dict[str, Any], event: dict[str, Any], **entry: Any
) -> dict[str, Any]:
    """Hand one check-in to the engine as the self check-in channel does; return its ack."""
    record = CheckinRecord(poster_id=site["poster"], answers=(), new_visitor=entry.pop("new", None))
    raw = {**event, "occurred_at": event["occurred_at"].isoformat()}
    source = Source(SELF, site["enterprise"], max_age=WEEK)
    delivery = Delivery([Entry(raw, event, checkin=record, **entry)], NOW)
    [receipt] = ingest(world.store, source, Policy(), [delivery], NOW)
    [ack] = receipt.acks
    return ack


def test_a_self_checkin_is_stored_once_with_its_poster(world: World, site: dict[str, Any]) -> None:
    checkin = checkin_event(site)

    first = self_checkin(world, site, checkin, hash_extra="poster|[]")
    again = self_checkin(world, site, dict(checkin), hash_extra="poster|[]")
    changed = self_checkin(world, site, dict(checkin), hash_extra='poster|[[1,"yes"]]')

    assert [first["status"], again["status"], changed.get("reason")] == [
        "accepted",
        "duplicate",
        "conflict",
    ]
    stored = world.event(checkin["id"])
    assert stored is not None
    assert (stored["method"], stored["device_id"], stored["seq"]) == ("self", None, None)
    assert stored["worker_id"] == site["worker"]
    assert world.checkin(checkin["id"]) == {"poster_id": site["poster"], "answers": 0}
    assert [q["reason"] for q in world.quarantined()] == ["conflict"]


def test_a_first_time_visitor_gets_a_visitor_record(world: World, site: dict[str, Any]) -> None:
    visit = checkin_event(site, subject={"kind": "text", "value": "Phạm Khách"})

    ack = self_checkin(world, site, visit, new=NewVisitor("Phạm Khách", "0912345678", "Cty X"))

    assert ack["status"] == "accepted"
    stored = world.event(visit["id"])
    assert stored is not None
    assert stored["visitor_id"] is not None


def test_a_refused_checkin_is_quarantined_with_its_raw_body(
    world: World, site: dict[str, Any]
) -> None:
    raw = {"id": str(uuid.uuid4()), "worker": {"employee_code": "NV9", "phone": "0900000000"}}
    source = Source(SELF, site["enterprise"], max_age=WEEK)
    delivery = Delivery([Entry(raw, refusal=Refusal("wrong_pair"))], NOW)

    [receipt] = ingest(world.store, source, Policy(), [delivery], NOW)

    assert receipt.acks[0]["reason"] == "wrong_pair"
    assert world.event_count() == 0
    [kept] = world.quarantined()
    assert (kept["reason"], kept["event_id"]) == ("wrong_pair", raw["id"])
    assert "0900000000" in kept["raw"]


def test_a_checkin_queued_too_long_is_refused_as_too_old(
    world: World, site: dict[str, Any]
) -> None:
    stale = checkin_event(site, occurred_at=NOW - timedelta(days=8))

    ack = self_checkin(world, site, stale)

    assert ack["reason"] == "too_old"
    assert world.event_count() == 0
    assert [q["reason"] for q in world.quarantined()] == ["too_old"]


def test_paper_lines_are_stored_and_refused_lines_quarantined(
    world: World, site: dict[str, Any]
) -> None:
    line = checkin_event(site, method="paper", subject={"kind": "text", "value": "Bác Ba"})
    refused_raw = {"line": 2, "cells": {"direction": "??"}}
    entries = [
        Entry({"line": 1, "cells": {"name": "Bác Ba"}}, line),
        Entry(refused_raw, refusal=Refusal("bad_direction", ["bad_direction"])),
    ]

    [receipt] = ingest(
        world.store, Source(PAPER, site["enterprise"]), Policy(), [Delivery(entries, NOW)], NOW
    )

    assert [ack.get("reason", ack["status"]) for ack in receipt.acks] == [
        "accepted",
        "bad_direction",
    ]
    stored = world.event(line["id"])
    assert stored is not None
    assert (stored["method"], stored["worker_id"]) == ("paper", None)
    [kept] = world.quarantined()
    assert kept["reason"] == "bad_direction"
    assert '"line":2' in kept["raw"]
    found = world.store.passages(
        site["enterprise"], ("text", "Bác Ba"), "in", NOW - timedelta(hours=1), NOW
    )
    assert [passage.id for passage in found] == [line["id"]]


def test_a_tablet_file_is_one_transaction_and_leaves_the_link_alone(
    world: World, site: dict[str, Any]
) -> None:
    device: DeviceContext = site["device"]
    world_state = world.device_state(device.device_id)
    bodies = [
        push(event(1, site["gate"]), event(2, site["gate"]), app_version="9.9.9", backlog=40),
        push(event(4, site["gate"]), event(5, site["foreign_gate"]), backlog=40),
    ]

    answers = apply_tablet_file(world.store, device, bodies, NOW)

    assert [[a.get("reason", a["status"]) for a in answer["acks"]] for answer in answers] == [
        ["accepted", "accepted"],
        ["accepted", "unknown_gate"],
    ]
    state = world.device_state(device.device_id)
    assert (state["highest_seq"], state["missing"]) == (5, [[3, 3]])
    assert (state["backlog"], state["app_version"]) == (
        world_state["backlog"],
        world_state["app_version"],
    )
    assert len(world.batches()) == 2


def test_a_tablet_file_that_fails_half_way_stores_nothing(
    world: World, site: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[int] = []
    close_batch = world.store.close_batch

    def fail_on_the_second(batch_ref: int, outcome: BatchClose) -> None:
        closed.append(batch_ref)
        if len(closed) == 2:
            raise RuntimeError("the disk filled up")
        close_batch(batch_ref, outcome)

    monkeypatch.setattr(world.store, "close_batch", fail_on_the_second)
    bodies = [push(event(1, site["gate"])), push(event(2, site["gate"]))]

    with pytest.raises(RuntimeError):
        apply_tablet_file(world.store, site["device"], bodies, NOW)

    assert world.event_count() == 0
    assert world.batches() == []
    assert world.device_state(site["device"].device_id)["highest_seq"] == 0


def roll_call(gate_id: int, version: int, **overrides: Any) -> dict[str, Any]:
    return {
        "id": overrides.pop("id", uuid.uuid4()),
        "version": version,
        "gate_id": gate_id,
        "started_at": NOW - timedelta(minutes=10),
        "closed_at": None,
        "entries": overrides.pop("entries", []),
        **overrides,
    }


def test_a_roll_call_keeps_its_highest_version(world: World, site: dict[str, Any]) -> None:
    device = site["device"]
    entries = [
        {
            "key": f"w:{site['worker']}",
            "kind": "worker",
            "worker_id": site["worker"],
            "name": "Lê Văn C",
            "department": "May",
            "code": "NV1",
            "ticked_at": NOW,
        },
        {
            "key": "w:999999",
            "kind": "worker",
            "worker_id": 999_999,
            "name": "Đã nghỉ",
            "department": "",
            "code": "",
            "ticked_at": None,
        },
    ]
    second = roll_call(site["gate"], 2, entries=entries)
    first = {**second, "version": 1, "entries": []}

    outcomes = [
        apply_roll_call(world.store, device, body, {"version": body["version"]}, NOW).status
        for body in (second, second, first)
    ]

    assert outcomes == ["stored", "duplicate", "stale"]
    kept = world.roll_call(str(second["id"]))
    assert kept == {
        "version": 2,
        "device_id": device.device_id,
        "entries": {f"w:{site['worker']}": site["worker"], "w:999999": None},
    }


def test_roll_calls_the_server_cannot_keep_are_quarantined(
    world: World, site: dict[str, Any]
) -> None:
    taken = roll_call(site["gate"], 1)
    apply_roll_call(world.store, site["device"], taken, {}, NOW)

    stolen = apply_roll_call(world.store, site["other_device"], {**taken, "version": 2}, {}, NOW)
    foreign = apply_roll_call(
        world.store, site["device"], roll_call(site["foreign_gate"], 1), {"gate_id": 0}, NOW
    )

    assert (stolen.status, stolen.reason) == ("rejected", "id_taken")
    assert (foreign.status, foreign.reason) == ("rejected", "unknown_gate")
    assert [q["reason"] for q in world.quarantined()] == ["id_taken", "unknown_gate"]
    assert (world.roll_call(str(taken["id"])) or {})["version"] == 1


def test_policy_sets_the_skew_flag_for_every_channel(world: World, site: dict[str, Any]) -> None:
    off = NOW - timedelta(seconds=300)
    lenient, strict = Policy(skew_flag_seconds=600), Policy(skew_flag_seconds=120)
    checkins = []
    for policy in (lenient, strict):
        checkin = checkin_event(site, occurred_at=off - timedelta(minutes=1))
        source = Source(SELF, site["enterprise"], max_age=WEEK)
        ingest(world.store, source, policy, [Delivery([Entry({}, checkin)], off)], NOW)
        checkins.append(checkin["id"])

    assert [(world.event(i) or {})["flags"] for i in checkins] == [[], ["clock_skew"]]
