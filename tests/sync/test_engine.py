"""The apply/pull engine over the in-memory store: acks, idempotence, quarantine, seq, roster."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sync.engine import PushRefused, advance_seq_state, apply_push, pull_roster
from sync.memory_store import MemoryStore
from sync.store import DeviceContext, RosterPass, RosterPerson, SeqState

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
DEVICE = DeviceContext(device_id=1, enterprise_id=10)
OTHER_DEVICE = DeviceContext(device_id=2, enterprise_id=10)
GATE = 7
FOREIGN_GATE = 8
BADGE = "ABCDEFGHIJKLMNOPQRST"


@pytest.fixture
def store() -> MemoryStore:
    """A store with two devices and a gate of enterprise 10, a gate of enterprise 20, a worker."""
    store = MemoryStore()
    store.add_device(DEVICE.device_id, DEVICE.enterprise_id)
    store.add_device(OTHER_DEVICE.device_id, OTHER_DEVICE.enterprise_id)
    store.add_gate(GATE, 10)
    store.add_gate(FOREIGN_GATE, 20)
    store.put_person(10, person(41, badge=BADGE))
    return store


def person(person_id: int, *, badge: str | None = None, active: bool = True) -> RosterPerson:
    return RosterPerson(
        id=person_id,
        code=f"NV{person_id:05d}",
        name="Nguyễn Văn An",
        department="May 1",
        badge_token=badge,
        phone_last4="4567",
        active=active,
        version=0,
    )


def event(seq: int, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "seq": seq,
        "occurred_at": (NOW - timedelta(minutes=5)).isoformat(),
        "gate_id": GATE,
        "direction": "in",
        "subject": {"kind": "badge", "value": BADGE},
        "method": "scanner",
    }
    body.update(overrides)
    return body


def push(*events: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "batch_id": str(uuid.uuid4()),
        "sent_at": NOW.isoformat(),
        "app_version": "1.0.0",
        "backlog": 0,
        "oldest_pending_at": None,
        "events": list(events),
    }
    body.update(overrides)
    return body


def statuses(answer: dict[str, Any]) -> list[str]:
    return [ack.get("reason", ack["status"]) for ack in answer["acks"]]


def test_new_events_are_accepted_stored_and_resolved(store: MemoryStore) -> None:
    first, second = event(1), event(2, subject={"kind": "text", "value": "Người lạ"})

    answer = apply_push(store, DEVICE, push(first, second), NOW)

    assert statuses(answer) == ["accepted", "accepted"]
    assert [ack["id"] for ack in answer["acks"]] == [first["id"], second["id"]]
    assert answer["highest_seq"] == 2
    assert answer["missing_ranges"] == []
    assert store.events[first["id"]][1].worker_id == 41
    assert store.events[second["id"]][1].worker_id is None


def test_resent_batch_is_acked_duplicate_and_stored_once(store: MemoryStore) -> None:
    body = push(event(1), event(2))
    apply_push(store, DEVICE, body, NOW)

    answer = apply_push(store, DEVICE, body, NOW + timedelta(seconds=30))

    assert statuses(answer) == ["duplicate", "duplicate"]
    assert len(store.events) == 2
    assert answer["highest_seq"] == 2
    assert answer["seq_reset"] is False
    closed = [batch.closed for batch in store.batches.values()]
    assert [(c.accepted, c.duplicate) for c in closed if c] == [(2, 0), (0, 2)]


def test_same_id_other_content_is_rejected_as_conflict_and_original_kept(
    store: MemoryStore,
) -> None:
    original = event(1)
    apply_push(store, DEVICE, push(original), NOW)
    changed = {**original, "direction": "out"}

    answer = apply_push(store, DEVICE, push(changed), NOW)

    assert statuses(answer) == ["conflict"]
    assert store.events[original["id"]][1].direction == "in"
    [(_, kept)] = store.quarantined
    assert kept.reason == "conflict"
    assert kept.event_id == original["id"]
    assert '"out"' in kept.raw


def test_same_id_from_another_device_is_a_conflict_not_a_duplicate(store: MemoryStore) -> None:
    shared = event(1)
    apply_push(store, DEVICE, push(shared), NOW)

    answer = apply_push(store, OTHER_DEVICE, push(shared), NOW)

    assert statuses(answer) == ["conflict"]


def test_broken_event_is_rejected_alone_and_quarantined_with_its_body(
    store: MemoryStore,
) -> None:
    broken = event(2, direction="sideways", extra="?")

    answer = apply_push(store, DEVICE, push(event(1), broken, event(3)), NOW)

    assert statuses(answer) == ["accepted", "invalid_event", "accepted"]
    details = answer["acks"][1]["details"]
    assert set(details) == {"direction", "extra"}
    assert answer["acks"][1]["message_vi"]
    [(_, kept)] = store.quarantined
    assert kept.reason == "invalid_event"
    assert kept.seq == 2
    assert "sideways" in kept.raw
    # The refused event's seq was received, so it is not reported missing.
    assert answer["highest_seq"] == 3
    assert answer["missing_ranges"] == []


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"gate_id": FOREIGN_GATE}, "unknown_gate"),
        ({"gate_id": 999}, "unknown_gate"),
        ({"occurred_at": (NOW + timedelta(minutes=11)).isoformat()}, "future_time"),
        ({"occurred_at": (NOW - timedelta(days=367)).isoformat()}, "time_out_of_range"),
        ({"occurred_at": "9999-12-31T23:59:59-12:00"}, "time_out_of_range"),
        ({"occurred_at": "2026-11-23T07:55:00"}, "invalid_event"),
        ({"seq": 0}, "invalid_event"),
        ({"seq": True}, "invalid_event"),
        ({"gate_id": 2**40}, "invalid_event"),
        ({"note": "x" * 1_000_000}, "invalid_event"),
        ({"note": "nul\x00byte"}, "invalid_event"),
        ({"subject": {"kind": "badge"}}, "invalid_event"),
        ({"id": "not-a-uuid"}, "invalid_event"),
    ],
)
def test_events_that_cannot_be_true_are_rejected_with_a_reason(
    store: MemoryStore, overrides: dict[str, Any], reason: str
) -> None:
    answer = apply_push(store, DEVICE, push({**event(1), **overrides}), NOW)

    assert statuses(answer) == [reason]
    assert not store.events
    assert [row.reason for _, row in store.quarantined] == [reason]


def test_non_object_event_is_rejected_without_an_id(store: MemoryStore) -> None:
    answer = apply_push(store, DEVICE, push("just a string", event(1)), NOW)

    assert statuses(answer) == ["invalid_event", "accepted"]
    assert answer["acks"][0]["id"] is None


def test_time_is_corrected_by_the_measured_skew(store: MemoryStore) -> None:
    device_clock = NOW - timedelta(hours=3)
    late = event(1, occurred_at=(device_clock - timedelta(minutes=1)).isoformat())

    answer = apply_push(store, DEVICE, push(late, sent_at=device_clock.isoformat()), NOW)

    assert statuses(answer) == ["accepted"]
    assert answer["skew_seconds"] == 3 * 3600
    row = store.events[late["id"]][1]
    assert row.corrected_at == NOW - timedelta(minutes=1)
    assert row.occurred_at == device_clock - timedelta(minutes=1)
    assert row.flags == ("clock_skew",)


def test_device_time_keeps_its_offset(store: MemoryStore) -> None:
    local = event(1, occurred_at="2026-11-23T14:55:00+07:00")

    apply_push(store, DEVICE, push(local), NOW)

    row = store.events[local["id"]][1]
    assert row.occurred_at == datetime(2026, 11, 23, 7, 55, tzinfo=UTC)
    assert row.occurred_offset_minutes == 420


def test_unknown_badge_is_accepted_unresolved(store: MemoryStore) -> None:
    stranger = event(1, subject={"kind": "badge", "value": "ZZZZZZZZZZZZZZZZZZZZ"})

    answer = apply_push(store, DEVICE, push(stranger), NOW)

    assert statuses(answer) == ["accepted"]
    assert store.events[stranger["id"]][1].worker_id is None


def test_badge_of_another_enterprise_stays_unresolved(store: MemoryStore) -> None:
    store.put_person(20, person(99, badge="QQQQQQQQQQQQQQQQQQQQ"))
    scanned = event(1, subject={"kind": "badge", "value": "GL1:W:QQQQQQQQQQQQQQQQQQQQ"})

    apply_push(store, DEVICE, push(scanned), NOW)

    assert store.events[scanned["id"]][1].worker_id is None


def test_full_qr_content_and_worker_id_resolve(store: MemoryStore) -> None:
    store.put_pass(10, visitor_pass(5, "VVVVVVVVVVVVVVVVVVVV"))
    by_qr = event(1, subject={"kind": "badge", "value": f"GL1:W:{BADGE}"})
    by_id = event(2, subject={"kind": "worker", "value": "41"})
    by_pass = event(3, subject={"kind": "pass", "value": "vvvvvvvvvvvvvvvvvvvv"})

    apply_push(store, DEVICE, push(by_qr, by_id, by_pass), NOW)

    assert store.events[by_qr["id"]][1].worker_id == 41
    assert store.events[by_id["id"]][1].worker_id == 41
    assert store.events[by_pass["id"]][1].pass_id == 5


def test_inactive_worker_and_expired_pass_are_accepted_and_flagged(store: MemoryStore) -> None:
    store.put_person(10, person(43, badge="INACTIVEINACTIVEINAC", active=False))
    expired = visitor_pass(6, "OLDPASSOLDPASSOLDPAS", valid_until=NOW - timedelta(hours=1))
    store.put_pass(10, expired)
    left = event(1, subject={"kind": "badge", "value": "INACTIVEINACTIVEINAC"})
    late = event(2, subject={"kind": "pass", "value": "OLDPASSOLDPASSOLDPAS"})

    answer = apply_push(store, DEVICE, push(left, late), NOW)

    assert statuses(answer) == ["accepted", "accepted"]
    assert store.events[left["id"]][1].flags == ("inactive_worker",)
    assert store.events[late["id"]][1].flags == ("expired_pass",)


def test_same_seq_twice_in_a_batch_rejects_the_second(store: MemoryStore) -> None:
    answer = apply_push(store, DEVICE, push(event(1), event(1)), NOW)

    assert statuses(answer) == ["accepted", "seq_repeated"]
    assert len(store.events) == 1


def test_identical_copy_inside_a_batch_is_stored_once(store: MemoryStore) -> None:
    once = event(1)

    answer = apply_push(store, DEVICE, push(once, dict(once)), NOW)

    assert statuses(answer) == ["accepted", "duplicate"]
    assert len(store.events) == 1
    assert store.batches[1].closed is not None
    assert (store.batches[1].closed.accepted, store.batches[1].closed.duplicate) == (1, 1)


def test_gaps_are_reported_and_filled(store: MemoryStore) -> None:
    answer = apply_push(store, DEVICE, push(event(1), event(4), event(9)), NOW)
    assert answer["missing_ranges"] == [[2, 3], [5, 8]]

    answer = apply_push(store, DEVICE, push(event(3), event(5), event(6)), NOW)

    assert answer["highest_seq"] == 9
    assert answer["missing_ranges"] == [[2, 2], [7, 8]]
    assert answer["seq_reset"] is False


def test_wiped_device_restarting_seq_is_detected_and_nothing_is_a_duplicate(
    store: MemoryStore,
) -> None:
    apply_push(store, DEVICE, push(*(event(seq) for seq in range(1, 6))), NOW)

    fresh = [event(1), event(2)]
    answer = apply_push(store, DEVICE, push(*fresh), NOW)

    assert statuses(answer) == ["accepted", "accepted"]
    assert answer["seq_reset"] is True
    assert answer["highest_seq"] == 2
    assert len(store.events) == 7
    device = store.devices[DEVICE.device_id]
    assert device.seq_reset_count == 1
    assert device.highest_seq_before_reset == 5
    assert device.seq_reset_at == NOW
    # The next push continues the new count without another reset.
    answer = apply_push(store, DEVICE, push(event(3)), NOW)
    assert answer["seq_reset"] is False
    assert answer["highest_seq"] == 3


def test_heartbeat_records_a_batch_and_the_device_state(store: MemoryStore) -> None:
    answer = apply_push(
        store,
        DEVICE,
        push(backlog=12, oldest_pending_at="2026-11-23T06:00:00Z", app_version="1.2.0"),
        NOW,
    )

    assert answer["acks"] == []
    assert answer["highest_seq"] == 0
    [batch] = store.batches.values()
    assert batch.opened.backlog == 12
    assert batch.opened.app_version == "1.2.0"
    assert batch.closed is not None
    assert batch.closed.duration_ms >= 0
    update = store.devices[DEVICE.device_id].link
    assert update is not None
    assert update.backlog == 12
    assert update.oldest_pending_at == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "text",
        {},
        {**push(), "events": "none"},
        {**push(), "batch_id": "x"},
        {**push(), "sent_at": "2026-11-23 08:00"},
        {**push(), "backlog": -1},
        {**push(), "surprise": 1},
        {**push(), "app_version": ""},
    ],
)
def test_broken_envelope_is_refused_and_nothing_is_written(
    store: MemoryStore, payload: Any
) -> None:
    with pytest.raises(PushRefused) as refused:
        apply_push(store, DEVICE, payload, NOW)

    assert refused.value.code == "validation_error"
    assert not store.batches
    assert not store.events
    assert not store.quarantined


def test_more_than_500_events_is_refused_with_the_limits(store: MemoryStore) -> None:
    with pytest.raises(PushRefused) as refused:
        apply_push(store, DEVICE, push(*(event(seq) for seq in range(1, 10_001))), NOW)

    assert refused.value.code == "payload_too_large"
    assert refused.value.details["max_events"] == 500
    assert not store.events


def test_a_failing_store_leaves_nothing_half_written(store: MemoryStore) -> None:
    class Boom(Exception):
        pass

    def fail(*_: Any) -> None:
        raise Boom

    store.close_batch = fail  # type: ignore[method-assign]
    with pytest.raises(Boom):
        apply_push(store, DEVICE, push(event(1), event(2, gate_id=FOREIGN_GATE)), NOW)

    assert not store.events
    assert not store.batches
    assert not store.quarantined
    assert store.devices[DEVICE.device_id].seq.highest_seq == 0


def test_concurrent_pushes_of_one_batch_store_one_copy(store: MemoryStore) -> None:
    body = push(*(event(seq) for seq in range(1, 201)))
    answers: list[dict[str, Any]] = []

    def send() -> None:
        answers.append(apply_push(store, DEVICE, body, NOW))

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(store.events) == 200
    assert sorted(statuses(a)[0] for a in answers) == ["accepted", "duplicate"]


def test_gates_subjects_and_rows_are_ready_before_the_device_lock(store: MemoryStore) -> None:
    calls: list[str] = []

    def recorded(name: str) -> Any:
        method = getattr(store, name)

        def call(*args: Any) -> Any:
            calls.append(name)
            return method(*args)

        return call

    order = ["existing_gate_ids", "resolve_subjects", "stage_events", "transaction", "lock_device"]
    for name in order:
        setattr(store, name, recorded(name))

    answer = apply_push(store, DEVICE, push(event(1), event(2, gate_id=FOREIGN_GATE)), NOW)

    assert calls == order
    assert statuses(answer) == ["accepted", "unknown_gate"]
    [stored] = store.events.values()
    assert stored[1].worker_id == 41


@pytest.mark.parametrize(
    ("state", "seen", "expected"),
    [
        (SeqState(1, 0, ()), [1, 2, 3], SeqState(1, 3, ())),
        (SeqState(1, 3, ()), [7], SeqState(1, 7, ((4, 6),))),
        (
            SeqState(1, 10, ((2, 5), (8, 8))),
            [3, 8, 12],
            SeqState(1, 12, ((2, 2), (4, 5), (11, 11))),
        ),
        (SeqState(1, 10, ((2, 5),)), [2, 3, 4, 5], SeqState(1, 10, ())),
        (SeqState(1, 10, ((2, 5),)), [], SeqState(1, 10, ((2, 5),))),
    ],
)
def test_seq_state_advances(state: SeqState, seen: list[int], expected: SeqState) -> None:
    assert advance_seq_state(state, seen) == expected


def visitor_pass(
    pass_id: int, token: str, *, active: bool = True, valid_until: datetime | None = None
) -> RosterPass:
    return RosterPass(
        id=pass_id,
        token=token,
        name="Trần Thị B",
        organisation="Công ty X",
        valid_from=NOW - timedelta(hours=8),
        valid_until=valid_until or NOW + timedelta(hours=8),
        active=active,
        version=0,
    )


def test_roster_pages_through_people_and_passes_by_change_counter(store: MemoryStore) -> None:
    store.put_person(10, person(42))
    store.put_pass(10, visitor_pass(5, "VVVVVVVVVVVVVVVVVVVV"))
    store.put_person(20, person(99))

    first = pull_roster(store, DEVICE, {"cursor": "0", "limit": "2"}, NOW)
    second = pull_roster(store, DEVICE, {"cursor": str(first["next_cursor"]), "limit": "2"}, NOW)

    assert [p["id"] for p in first["people"]] == [41, 42]
    assert first["has_more"] is True
    assert [p["id"] for p in second["passes"]] == [5]
    assert second["people"] == []
    assert second["has_more"] is False
    assert set(first["people"][0]) == {
        "id",
        "code",
        "name",
        "department",
        "badge_token",
        "phone_last4",
        "active",
        "version",
    }


def test_roster_shows_deactivation_and_reissue_as_changes(store: MemoryStore) -> None:
    cursor = pull_roster(store, DEVICE, {}, NOW)["next_cursor"]
    store.put_person(10, person(41, badge="NEWNEWNEWNEWNEWNEWNE"))
    store.put_person(10, person(41, badge="NEWNEWNEWNEWNEWNEWNE", active=False))

    page = pull_roster(store, DEVICE, {"cursor": str(cursor)}, NOW)

    [tombstone] = page["people"]
    assert tombstone["active"] is False
    assert tombstone["badge_token"] == "NEWNEWNEWNEWNEWNEWNE"
    assert page["next_cursor"] == tombstone["version"]
    assert pull_roster(store, DEVICE, {"cursor": str(page["next_cursor"])}, NOW)["people"] == []


@pytest.mark.parametrize(
    "query", [{"cursor": "-1"}, {"limit": "0"}, {"limit": "5001"}, {"cursor": "x"}]
)
def test_roster_refuses_a_broken_query(store: MemoryStore, query: dict[str, str]) -> None:
    with pytest.raises(PushRefused):
        pull_roster(store, DEVICE, query, NOW)


def test_roster_cursor_ahead_of_the_counter_starts_over(store: MemoryStore) -> None:
    page = pull_roster(store, DEVICE, {"cursor": "999"}, NOW)

    assert [p["id"] for p in page["people"]] == [41]
    assert page["next_cursor"] == store.roster_version(10)


def test_a_conflicting_resend_reveals_no_restart_and_moves_no_seq(store: MemoryStore) -> None:
    sent = [event(seq) for seq in range(1, 6)]
    apply_push(store, DEVICE, push(*sent), NOW)

    changed_below = {**sent[1], "seq": 4, "note": "sửa"}
    changed_above = {**sent[2], "seq": 9, "note": "sửa"}
    answer = apply_push(store, DEVICE, push(changed_below, changed_above), NOW)

    assert statuses(answer) == ["conflict", "conflict"]
    assert answer["seq_reset"] is False
    assert (answer["highest_seq"], answer["missing_ranges"]) == (5, [])
    assert store.devices[DEVICE.device_id].seq_reset_count == 0


def test_a_late_resend_from_before_a_wipe_reveals_no_second_restart(store: MemoryStore) -> None:
    before_wipe = [event(seq) for seq in range(1, 6)]
    apply_push(store, DEVICE, push(*before_wipe), NOW)
    assert apply_push(store, DEVICE, push(event(1), event(2), event(3)), NOW)["seq_reset"]

    answer = apply_push(store, DEVICE, push(before_wipe[1], before_wipe[4]), NOW)

    assert statuses(answer) == ["duplicate", "duplicate"]
    assert answer["seq_reset"] is False
    assert (answer["highest_seq"], answer["missing_ranges"]) == (3, [])
    device = store.devices[DEVICE.device_id]
    assert (device.seq.epoch, device.seq_reset_count) == (1, 1)


@pytest.mark.parametrize(
    "spell",
    [str.upper, lambda text: text.replace("-", ""), lambda text: f"urn:uuid:{text}"],
    ids=["upper case", "no dashes", "urn"],
)
def test_acks_echo_each_id_exactly_as_sent(store: MemoryStore, spell: Any) -> None:
    events = [event(1), event(2, gate_id=FOREIGN_GATE)]
    for sent in events:
        sent["id"] = spell(sent["id"])

    first = apply_push(store, DEVICE, push(*events), NOW)
    again = apply_push(store, DEVICE, push(events[0]), NOW)

    assert [(ack["id"], ack["status"]) for ack in first["acks"]] == [
        (events[0]["id"], "accepted"),
        (events[1]["id"], "rejected"),
    ]
    assert again["acks"][0] == {"id": events[0]["id"], "status": "duplicate"}
    assert str(uuid.UUID(events[0]["id"])) in store.events


def test_an_identical_copy_of_an_event_refused_for_its_time_shares_its_outcome(
    store: MemoryStore,
) -> None:
    late = event(1, occurred_at=(NOW + timedelta(hours=1)).isoformat())
    ancient = event(2, occurred_at=(NOW - timedelta(days=400)).isoformat())

    answer = apply_push(store, DEVICE, push(late, dict(late), ancient, dict(ancient)), NOW)

    assert statuses(answer) == ["future_time"] * 2 + ["time_out_of_range"] * 2
    assert len(store.quarantined) == 4
