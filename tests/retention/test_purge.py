"""The retention purge: what goes, what stays, what is counted, and that it is audited."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from server.extensions import db
from server.models import (
    AuditLog,
    DailyGateCount,
    DeclarationAnswer,
    GateEvent,
    PairingResolution,
    PurgedSeqRange,
    QuarantinedEvent,
    RollCall,
    RollCallEntry,
    SelfCheckin,
    SyncBatch,
    Visitor,
    VisitorPass,
)
from server.presence import ENTRY_MISSING
from server.retention import Policy, plan_purge, purge, purged_seq_ranges
from tests.factories import (
    make_device,
    make_enterprise,
    make_event,
    make_gate,
    make_poster,
    make_question,
    make_roll_call,
    make_visitor_pass,
    make_worker,
)

pytestmark = pytest.mark.usefixtures("app")

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
POLICY = Policy(event_days=365, visitor_days=90, declaration_days=90, audit_days=1095)
TZ = "Asia/Ho_Chi_Minh"


def days_ago(days: float, **extra: float) -> datetime:
    return NOW - timedelta(days=days, **extra)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def by_category(outcomes) -> dict[str, dict[str, int]]:
    return {outcome.category: outcome.counts for outcome in outcomes}


def self_checkin(gate, poster, question, occurred_at, answer="yes"):
    event = make_event(gate, method="self", occurred_at=occurred_at)
    db.session.add(
        SelfCheckin(event_id=event.id, enterprise_id=gate.enterprise_id, poster_id=poster.id)
    )
    db.session.add(
        DeclarationAnswer(
            enterprise_id=gate.enterprise_id,
            event_id=event.id,
            question_id=question.id,
            answer=answer,
            alert=answer == "yes",
        )
    )
    db.session.commit()
    return event


def test_old_events_become_daily_counts_by_local_day_gate_and_home_province() -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    worker = make_worker(enterprise, home_province_code=1)
    # 17:30 UTC is 00:30 the next day in Viet Nam: the count belongs to the local day.
    late_evening = datetime(2025, 11, 1, 17, 30, tzinfo=UTC)
    make_event(gate, worker=worker, occurred_at=late_evening)
    make_event(gate, worker=worker, occurred_at=late_evening + timedelta(minutes=5))
    make_event(gate, worker=worker, occurred_at=late_evening, direction="out")
    make_event(gate, occurred_at=late_evening, method="manual")
    kept = make_event(gate, worker=worker, occurred_at=days_ago(10))

    outcomes = purge(NOW, POLICY, timezone=TZ)

    assert by_category(outcomes)["events"]["gate_events"] == 4
    assert db.session.scalars(select(GateEvent.id)).all() == [kept.id]
    rows = {
        (r.day, r.gate_id, r.direction, r.method, r.subject_kind, r.home_province_code): r.count
        for r in db.session.scalars(select(DailyGateCount))
    }
    assert rows == {
        (date(2025, 11, 2), gate.id, "in", "scanner", "worker", 1): 2,
        (date(2025, 11, 2), gate.id, "out", "scanner", "worker", 1): 1,
        (date(2025, 11, 2), gate.id, "in", "manual", "unresolved", None): 1,
    }


def test_dry_run_counts_what_would_go_and_changes_nothing() -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    make_event(gate, occurred_at=days_ago(400))
    make_event(gate, occurred_at=days_ago(1))
    db.session.add(AuditLog(at=days_ago(2000), action="worker.view"))
    db.session.commit()

    planned = by_category(plan_purge(NOW, POLICY))

    assert planned["events"]["gate_events"] == 1
    assert planned["audit"]["audit_rows"] == 1
    assert count(GateEvent) == 2
    assert count(AuditLog) == 1
    assert count(DailyGateCount) == 0
    done = by_category(purge(NOW, POLICY, timezone=TZ))
    assert done["events"]["gate_events"] == planned["events"]["gate_events"]
    assert done["audit"]["audit_rows"] == planned["audit"]["audit_rows"]


def test_small_chunks_purge_everything_once_and_count_it_once() -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    for minute in range(7):
        make_event(gate, occurred_at=datetime(2025, 6, 1, 3, minute, tzinfo=UTC))

    outcomes = purge(NOW, POLICY, timezone=TZ, chunk_size=2)

    assert by_category(outcomes)["events"]["gate_events"] == 7
    assert count(GateEvent) == 0
    assert db.session.scalar(select(func.sum(DailyGateCount.count))) == 7
    again = by_category(purge(NOW, POLICY, timezone=TZ))
    assert again["events"]["gate_events"] == 0
    assert db.session.scalar(select(func.sum(DailyGateCount.count))) == 7


def test_a_chunk_spanning_enterprises_counts_each_enterprise_apart() -> None:
    gates = [make_gate(make_enterprise()) for _ in range(2)]
    for gate in gates:
        for minute in range(2):
            make_event(gate, occurred_at=datetime(2025, 6, 1, 3, minute, tzinfo=UTC))

    outcomes = purge(NOW, POLICY, timezone=TZ, chunk_size=3)

    assert by_category(outcomes)["events"]["gate_events"] == 4
    counted = db.session.execute(
        select(DailyGateCount.enterprise_id, func.sum(DailyGateCount.count)).group_by(
            DailyGateCount.enterprise_id
        )
    ).all()
    assert sorted(counted) == sorted((gate.enterprise_id, 2) for gate in gates)


def test_declaration_answers_follow_the_visitor_period_and_the_event_stays() -> None:
    enterprise = make_enterprise()
    poster = make_poster(enterprise=enterprise)
    question = make_question(enterprise=enterprise)
    old = self_checkin(poster.gate, poster, question, days_ago(100))
    recent = self_checkin(poster.gate, poster, question, days_ago(20))

    outcomes = purge(NOW, POLICY, timezone=TZ)

    assert by_category(outcomes)["declarations"]["declaration_answers"] == 1
    assert db.session.scalars(select(DeclarationAnswer.event_id)).all() == [recent.id]
    assert {row.id for row in db.session.scalars(select(GateEvent))} == {old.id, recent.id}
    assert count(SelfCheckin) == 2


def test_self_checkins_and_answers_go_with_their_expired_events() -> None:
    enterprise = make_enterprise()
    poster = make_poster(enterprise=enterprise)
    question = make_question(enterprise=enterprise)
    self_checkin(poster.gate, poster, question, days_ago(400))
    policy = Policy(event_days=365, visitor_days=500, declaration_days=500, audit_days=1095)

    events = by_category(purge(NOW, policy, timezone=TZ))["events"]

    assert events["gate_events"] == 1
    assert events["self_checkins"] == 1
    assert events["declaration_answers"] == 1
    assert count(GateEvent) == count(SelfCheckin) == count(DeclarationAnswer) == 0


def test_a_resolved_pairing_flag_goes_with_its_expired_event_and_a_recent_one_stays() -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    worker = make_worker(enterprise)
    old = make_event(gate, worker=worker, direction="out", occurred_at=days_ago(400))
    recent = make_event(gate, worker=worker, direction="out", occurred_at=days_ago(10))
    for event in (old, recent):
        db.session.add(
            PairingResolution(
                enterprise_id=enterprise.id,
                event_id=event.id,
                flag=ENTRY_MISSING,
                resolved_at=NOW,
            )
        )
    db.session.commit()

    purge(NOW, POLICY, timezone=TZ)

    assert db.session.scalars(select(PairingResolution.event_id)).all() == [recent.id]


def test_stale_visitors_are_anonymised_not_deleted_and_tablets_hear_of_it() -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    stale = make_visitor_pass(
        enterprise,
        now=days_ago(120),
        full_name="Lê Thị Khách",
        valid_until=days_ago(119),
    )
    stale.visitor.phone, stale.visitor.organisation, stale.visitor.id_number_last4 = (
        "0912345678",
        "Công ty Vận tải",
        "1234",
    )
    stale.visitor.created_at = days_ago(120)
    visit = make_event(
        gate,
        occurred_at=days_ago(119, hours=1),
        visitor_pass=stale,
        visitor_details={"name": "Lê Thị Khách", "phone": "0912345678"},
    )
    current = make_visitor_pass(enterprise, now=NOW, full_name="Phạm Văn Mới")
    current.visitor.created_at = days_ago(200)
    db.session.commit()
    version_before = stale.roster_version

    visitors = by_category(purge(NOW, POLICY, timezone=TZ))["visitors"]

    assert visitors == {
        "visitors_anonymised": 1,
        "event_details_cleared": 1,
        "quarantined_input_cleared": 0,
        "roll_call_visitors_cleared": 0,
    }
    anonymised = db.session.get(Visitor, stale.visitor_id)
    assert (anonymised.full_name, anonymised.phone, anonymised.organisation) == ("", None, "")
    assert anonymised.id_number_last4 is None
    assert db.session.get(Visitor, current.visitor_id).full_name == "Phạm Văn Mới"
    event = db.session.get(GateEvent, visit.id)
    assert event.visitor_details is None
    assert event.visitor_id == stale.visitor_id
    assert db.session.get(VisitorPass, stale.id).roster_version > version_before
    assert by_category(plan_purge(NOW, POLICY))["visitors"] == {
        "visitors_anonymised": 0,
        "event_details_cleared": 0,
        "quarantined_input_cleared": 0,
        "roll_call_visitors_cleared": 0,
    }


def test_spent_sync_batches_and_old_quarantine_go_after_their_events() -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    device, _ = make_device(gate)
    old_batch = SyncBatch(client_batch_id="a", device_id=device.id, received_at=days_ago(400))
    live_batch = SyncBatch(client_batch_id="b", device_id=device.id, received_at=days_ago(400))
    db.session.add_all([old_batch, live_batch])
    db.session.commit()
    make_event(gate, device=device, occurred_at=days_ago(401), batch_id=old_batch.id)
    # A tablet whose clock ran a year behind: its event is recent by the server's clock.
    make_event(gate, device=device, occurred_at=days_ago(3), batch_id=live_batch.id)
    db.session.add(
        QuarantinedEvent(
            enterprise_id=enterprise.id,
            device_id=device.id,
            batch_id=old_batch.id,
            reason="invalid_event",
            raw="{}",
            received_at=days_ago(400),
        )
    )
    db.session.commit()

    events = by_category(purge(NOW, POLICY, timezone=TZ))["events"]

    assert events["quarantined_events"] == 1
    assert events["sync_batches"] == 1
    assert db.session.scalars(select(SyncBatch.client_batch_id)).all() == ["b"]
    assert count(GateEvent) == 1


def test_purge_deletes_old_audit_rows_and_writes_its_own_with_the_counts() -> None:
    db.session.add_all(
        [AuditLog(at=days_ago(1200), action="worker.view"), AuditLog(at=days_ago(5), action="x")]
    )
    db.session.commit()

    purge(NOW, POLICY, timezone=TZ)

    actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.at)).all()
    assert actions == ["x", "retention.purge"]
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "retention.purge"))
    assert entry.details["audit"]["audit_rows"] == 1
    assert entry.details["events"]["cutoff"] == days_ago(365).isoformat()
    assert entry.details["declarations"]["days"] == 90


def test_cli_dry_run_shows_counts_and_cutoffs_and_purge_does_it(app) -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    make_event(gate, occurred_at=datetime.now(UTC) - timedelta(days=800))
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["purge", "--dry-run"])

    assert dry.exit_code == 0, dry.output
    assert "Dry run" in dry.output
    assert "events: older than 365 days (before " in dry.output
    assert "gate_events: 1 would go" in dry.output
    assert count(GateEvent) == 1
    assert count(AuditLog) == 0

    done = runner.invoke(args=["purge"])

    assert done.exit_code == 0, done.output
    assert "gate_events: 1 done" in done.output
    assert count(GateEvent) == 0
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "retention.purge"))
    assert json.loads(json.dumps(audit.details))["events"]["gate_events"] == 1


def test_the_daily_purge_leaves_sqlite_planner_statistics(app) -> None:
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's autovacuum keeps its own statistics")
    enterprise = make_enterprise()
    make_event(make_gate(enterprise), worker=make_worker(enterprise), occurred_at=datetime.now(UTC))

    done = app.test_cli_runner().invoke(args=["purge"])

    assert done.exit_code == 0, done.output
    analysed = db.session.execute(text("SELECT DISTINCT tbl FROM sqlite_stat1")).scalars()
    assert {"gate_event", "worker"} <= set(analysed)


def test_purged_seqs_of_a_tablet_are_remembered_as_received_ranges() -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    device, _ = make_device(gate)
    for seq in (1, 2, 3, 4, 6, 7):
        make_event(gate, device=device, seq=seq, occurred_at=days_ago(500 - seq))
    make_event(gate, device=device, seq=8, occurred_at=days_ago(2))
    make_event(gate, device=device, seq=2, seq_epoch=1, occurred_at=days_ago(400))

    purge(NOW, POLICY, timezone=TZ, chunk_size=2)

    assert purged_seq_ranges([device.id]) == {
        (device.id, 0): [(1, 4), (6, 7)],
        (device.id, 1): [(2, 2)],
    }


def test_a_purged_seq_between_two_stored_ranges_joins_them_into_one() -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    device, _ = make_device(gate)
    # Purged oldest first, two at a time: 1-2, then 5-6, then 3-4 bridges them.
    for seq, age in ((1, 500), (2, 499), (5, 498), (6, 497), (3, 496), (4, 495)):
        make_event(gate, device=device, seq=seq, occurred_at=days_ago(age))

    purge(NOW, POLICY, timezone=TZ, chunk_size=2)

    assert purged_seq_ranges([device.id]) == {(device.id, 0): [(1, 6)]}
    assert db.session.scalar(select(func.count()).select_from(PurgedSeqRange)) == 1


def test_roll_calls_go_with_the_gate_records_and_their_visitors_with_the_visitors() -> None:
    enterprise = make_enterprise()
    old = make_roll_call(enterprise=enterprise, started_at=days_ago(400))
    mid = make_roll_call(enterprise=enterprise, started_at=days_ago(100))
    mid.entries.append(
        RollCallEntry(person_key="w:7", kind="worker", name="Công Nhân", department="May 1")
    )
    recent = make_roll_call(enterprise=enterprise, started_at=days_ago(10))
    db.session.commit()
    old_id, mid_id, recent_id = old.id, mid.id, recent.id

    # The visitors step runs first: the old roll call's two visitors are cleared, then it goes.
    planned = by_category(plan_purge(NOW, POLICY))
    assert planned["events"]["roll_calls"] == 1
    assert planned["visitors"]["roll_call_visitors_cleared"] == 4

    outcomes = by_category(purge(NOW, POLICY, timezone=TZ))

    assert outcomes["events"]["roll_calls"] == 1
    assert outcomes["visitors"]["roll_call_visitors_cleared"] == 4
    assert db.session.get(RollCall, old_id) is None
    assert (
        db.session.scalar(
            select(func.count(RollCallEntry.id)).where(RollCallEntry.roll_call_id == old_id)
        )
        == 0
    )
    kept = db.session.execute(
        select(RollCallEntry.kind, RollCallEntry.name, RollCallEntry.ticked_at.is_not(None))
        .where(RollCallEntry.roll_call_id == mid_id)
        .order_by(RollCallEntry.id)
    ).all()
    # The visitors lose their names, not their place in the count; the worker stays named.
    assert [tuple(row) for row in kept] == [
        ("visitor", "", False),
        ("visitor", "", True),
        ("worker", "Công Nhân", False),
    ]
    keys = db.session.scalars(
        select(RollCallEntry.person_key).where(RollCallEntry.roll_call_id == mid_id)
    ).all()
    assert not any("khach" in key for key in keys)
    assert sorted(
        db.session.scalars(
            select(RollCallEntry.name).where(RollCallEntry.roll_call_id == recent_id)
        ).all()
    ) == ["Khách A", "Khách B"]
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "retention.purge"))
    assert audit.details["events"]["roll_calls"] == 1
    assert audit.details["visitors"]["roll_call_visitors_cleared"] == 4
    assert by_category(plan_purge(NOW, POLICY))["visitors"]["roll_call_visitors_cleared"] == 0
