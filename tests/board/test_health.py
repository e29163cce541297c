"""Sync health from a hand-built world: statuses, gaps, skew, roll-ups, revocation."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask

from server.admin.config import effective, save
from server.board import health
from server.extensions import db
from server.models import GateEvent, PurgedSeqRange
from server.views_common import localtime
from tests.board.world import NOW, World, build_world
from tests.factories import login, make_device, make_event, make_gate


@pytest.fixture
def world(app: Flask) -> World:
    return build_world()


def report_for(app: Flask, user, **filters) -> health.HealthReport:  # type: ignore[no-untyped-def]
    report = health.sync_health(
        user,
        now=NOW,
        thresholds=effective(app.config["GATELOG"]),
        filters=health.Filters(**filters),
    )
    health.with_activity(report.tablets, now=NOW)
    return report


def by_label(report: health.HealthReport) -> dict[str, health.TabletHealth]:
    return {t.label or f"gate {t.gate_name}": t for t in report.tablets}


def test_each_tablet_gets_its_status_and_reason(app: Flask, world: World) -> None:
    tablets = by_label(report_for(app, world.admin))
    assert tablets["Máy cổng 1"].status == health.LAGGING
    assert [r.code for r in tablets["Máy cổng 1"].reasons] == ["missing"]
    assert tablets["Máy cổng 2"].status == health.LAGGING
    assert [r.code for r in tablets["Máy cổng 2"].reasons] == ["no_sync_for", "oldest_waiting"]
    assert tablets["Máy cũ"].status == health.REVOKED
    assert tablets["Máy Yên Phong"].status == health.OK
    assert tablets["Máy mới"].status == health.NEVER
    assert tablets["Máy xưởng"].status == health.STALE


def test_known_gap_is_found_and_quarantined_seq_is_not_a_gap(app: Flask, world: World) -> None:
    assert health.missing_ranges([world.gapped.id, world.fresh.id]) == {world.gapped.id: [(4, 6)]}
    tablet = by_label(report_for(app, world.admin))["Máy cổng 1"]
    assert tablet.missing == 3
    assert tablet.quarantined == 1


@pytest.mark.parametrize(
    "believed",
    [[[4, 6]], [[4, 5]], [[3, 5]], [[4, 6], [5, 5]], "garbage", []],
    ids=["right", "stale", "covers-a-stored-seq", "overlapping", "broken", "none"],
)
def test_gaps_are_proven_from_events_whatever_the_engine_believes(
    app: Flask, world: World, believed: object
) -> None:
    device, _ = make_device(
        world.g3, label="Máy tin", highest_seq=8, missing_seq_ranges=believed, last_sync_at=NOW
    )
    for seq in (1, 2, 3, 7, 8):
        make_event(world.g3, device=device, seq=seq, occurred_at=NOW)
    assert health.missing_ranges([device.id]) == {device.id: [(4, 6)]}


def test_many_believed_gaps_are_proven_in_several_queries(app: Flask, world: World) -> None:
    devices = []
    for number in range(12):
        device, _ = make_device(
            world.g3,
            label=f"Máy {number}",
            highest_seq=100,
            missing_seq_ranges=[[seq, seq] for seq in range(2, 100, 2)],
        )
        for seq in range(1, 101, 2):
            make_event(world.g3, device=device, seq=seq, occurred_at=NOW)
        make_event(world.g3, device=device, seq=100, occurred_at=NOW)
        devices.append(device)
    gaps = health.missing_ranges([d.id for d in devices])
    assert gaps == {d.id: [(seq, seq) for seq in range(2, 100, 2)] for d in devices}


def test_seqs_purged_by_retention_are_no_gap(app: Flask, world: World) -> None:
    device, _ = make_device(
        world.g3, label="Máy cũ lâu", highest_seq=10, missing_seq_ranges=[[8, 8]]
    )
    for seq in (6, 7, 9, 10):
        make_event(world.g3, device=device, seq=seq, occurred_at=NOW)
    db.session.add(PurgedSeqRange(device_id=device.id, seq_epoch=0, low=1, high=4))
    db.session.commit()
    # Seq 5 was never received; 1-4 were, before retention purged them.
    assert health.missing_ranges([device.id]) == {device.id: [(5, 5), (8, 8)]}
    device.missing_seq_ranges = [[5, 5], [8, 8]]
    db.session.commit()
    assert health.missing_ranges([device.id]) == {device.id: [(5, 5), (8, 8)]}


def test_gaps_count_only_the_current_seq_epoch(app: Flask, world: World) -> None:
    device, _ = make_device(
        world.g3, label="Máy reset", highest_seq=2, seq_epoch=1, last_sync_at=NOW
    )
    make_event(world.g3, device=device, seq=5, seq_epoch=0, occurred_at=NOW)
    make_event(world.g3, device=device, seq=2, seq_epoch=1, occurred_at=NOW)
    assert health.missing_ranges([device.id]) == {device.id: [(1, 1)]}


def test_tail_gap_up_to_highest_seq(app: Flask, world: World) -> None:
    world.fresh.highest_seq = 4
    db.session.commit()
    assert health.missing_ranges([world.fresh.id]) == {world.fresh.id: [(2, 4)]}


def test_known_skew_is_flagged_and_other_figures_are_exact(app: Flask, world: World) -> None:
    tablets = by_label(report_for(app, world.admin))
    gapped, slow = tablets["Máy cổng 1"], tablets["Máy cổng 2"]
    assert (gapped.skew_seconds, gapped.skew_flagged) == (-300.0, True)
    assert gapped.app_version == "1.4.2"
    assert gapped.last_event_at == NOW - timedelta(hours=3) + timedelta(minutes=10)
    assert gapped.events_per_day == round(4 / 7, 1)
    assert (slow.backlog, slow.oldest_pending_age) == (7, timedelta(hours=3))
    assert tablets["Máy Yên Phong"].skew_flagged is False


def test_device_revoked_mid_day_keeps_its_records_but_not_its_gate(
    app: Flask, world: World
) -> None:
    report = report_for(app, world.admin)
    revoked = by_label(report)["Máy cũ"]
    assert revoked.revoked_at == NOW
    assert revoked.last_event_at == NOW - timedelta(hours=1)
    assert db.session.query(GateEvent).filter_by(device_id=world.revoked.id).count() == 2
    # Gate C2 keeps only its lagging tablet; the revoked one synced recently but does not count.
    assert health.gate_statuses(report.tablets)[world.g2.id] == health.LAGGING
    enterprise = next(e for e in report.enterprises if e.key == world.ent.id)
    assert (enterprise.gates_synced, enterprise.gates) == (1, 3)


def test_rollups_per_zone_and_enterprise_and_paper(app: Flask, world: World) -> None:
    report = report_for(app, world.admin)
    zones = {z.name or None: z for z in report.zones}
    assert (zones["KCN Quế Võ"].gates_synced, zones["KCN Quế Võ"].gates) == (1, 3)
    assert (zones["KCN Yên Phong"].gates_synced, zones["KCN Yên Phong"].gates) == (1, 1)
    assert zones[None].key is None
    assert zones[None].gates_synced == 0
    paper = {e.name: e.is_on_paper for e in report.enterprises}
    assert paper == {
        "Công ty May Hà Bắc": False,
        "Công ty Điện tử Yên Phong": False,
        "Xưởng Gỗ Ngoài Khu": True,
    }
    assert {e.name: e.status for e in report.enterprises}["Công ty May Hà Bắc"] == health.NEVER


def test_paper_backfill_is_not_a_digital_record(app: Flask, world: World) -> None:
    make_event(make_gate(world.outside), method="paper", occurred_at=NOW - timedelta(hours=1))
    report = report_for(app, world.admin)
    assert {e.name: e.is_on_paper for e in report.enterprises}["Xưởng Gỗ Ngoài Khu"] is True


def test_gate_without_tablet_is_listed_as_never_synced(app: Flask, world: World) -> None:
    gate = make_gate(world.ent, code="C9", name="Cổng sau")
    tablet = next(t for t in report_for(app, world.admin).tablets if t.gate_id == gate.id)
    assert (tablet.device_id, tablet.status, tablet.reasons[0].code) == (
        None,
        health.NEVER,
        "no_tablet",
    )


def test_admin_thresholds_override_the_defaults(app: Flask, world: World) -> None:
    save(world.admin, {"lagging_after_minutes": 150.0, "stale_after_hours": 48.0}, now=NOW)
    tablets = by_label(report_for(app, world.admin))
    assert tablets["Máy cổng 2"].reasons[0].code == "oldest_waiting"
    assert tablets["Máy xưởng"].status == health.STALE
    save(world.admin, {"lagging_after_minutes": 240.0}, now=NOW)
    assert by_label(report_for(app, world.admin))["Máy cổng 2"].status == health.OK


def test_inspector_sees_only_its_zones(app: Flask, world: World) -> None:
    report = report_for(app, world.inspector)
    assert {t.enterprise_name for t in report.tablets} == {"Công ty May Hà Bắc"}
    assert [z.name for z in report.zones] == ["KCN Quế Võ"]


def test_filters_by_status_and_text(app: Flask, world: World) -> None:
    assert [t.label for t in report_for(app, world.admin, status=health.STALE).tablets] == [
        "Máy xưởng"
    ]
    assert {t.label for t in report_for(app, world.admin, text="yên phong").tablets} == {
        "Máy Yên Phong"
    }


def test_lag_chart_buckets_received_minus_occurred(app: Flask, world: World) -> None:
    chart = health.lag_chart(world.ent.id, now=NOW)
    assert chart.total == 8
    assert dict(chart.buckets)["1–5 min"] == 6
    assert dict(chart.buckets)["< 1 min"] == 2
    assert chart.median_seconds == 120.0


def test_health_page_lists_tablets_sorted_and_exports(app: Flask, client, world: World) -> None:
    login(client, world.inspector)
    page = client.get("/board/?sort=missing&dir=desc")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Máy cổng 1" in html
    assert "Máy Yên Phong" not in html
    assert html.index("Máy cổng 1") < html.index("Máy cổng 2")
    export = client.get("/board/?format=csv", buffered=True)
    assert export.status_code == 200
    assert "Máy cổng 1" in export.get_data(as_text=True)
    assert client.get("/board/?format=xlsx", buffered=True).status_code == 200


def test_health_page_shows_what_each_listed_tablet_sent_and_sorts_by_it(
    client, world: World
) -> None:
    login(client, world.inspector)
    last_record = localtime(NOW - timedelta(hours=3) + timedelta(minutes=10))
    assert last_record in client.get("/board/").get_data(as_text=True)
    by_quarantined = client.get("/board/?sort=quarantined&dir=desc").get_data(as_text=True)
    assert by_quarantined.index("Máy cổng 1") < by_quarantined.index("Máy cổng 2")
    export = client.get("/board/?format=csv", buffered=True).get_data(as_text=True)
    row = next(line for line in export.splitlines() if "Máy cổng 1" in line)
    # The quarantined column, then records per day (none in the real now's last week).
    assert row.endswith(",1,0.0")


def test_long_tablet_lists_paginate_worst_first(client, world: World) -> None:
    for number in range(120):
        make_device(world.g3, label=f"Máy dự phòng {number:03d}", last_sync_at=NOW)
    login(client, world.admin)
    first = client.get("/board/").get_data(as_text=True)
    assert "Máy mới" in first  # never synced: worst, so on the first page
    assert "Trang 1/2" in first
    second = client.get("/board/?page=2").get_data(as_text=True)
    assert "Máy mới" not in second
    assert "Trang 2/2" in second
    assert client.get("/board/?page=99").status_code == 200


def test_bad_filters_show_a_message_not_an_error(client, world: World) -> None:
    login(client, world.inspector)
    page = client.get("/board/?zone_id=abc&status=nonsense")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    alerts = re.findall(r'role="alert">([^<]*)<', html)
    assert any(alert.startswith("Khu công nghiệp:") for alert in alerts), alerts
    assert any(alert.startswith("Trạng thái:") for alert in alerts), alerts
    # The bad filters are dropped, not obeyed: every tablet of the inspector's zones is listed.
    assert "Máy mới" in html


def test_drill_down_to_tablet_history_and_gaps(client, world: World) -> None:
    login(client, world.inspector)
    page = client.get(f"/board/devices/{world.gapped.id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="gaps"' in html
    assert "<td>4</td><td>6</td>" in html
    assert client.get(f"/board/enterprises/{world.ent.id}").status_code == 200
    assert "<svg" in client.get(f"/board/enterprises/{world.ent.id}").get_data(as_text=True)


def test_a_reported_wipe_shows_the_loss_with_its_seq_never_normal(app: Flask, world: World) -> None:
    from server.models import DeviceWipe

    gate = world.fresh.gate
    db.session.add(
        DeviceWipe(
            enterprise_id=gate.enterprise_id,
            device_id=world.fresh.id,
            reported_by_id=world.fresh.id,
            received_at=NOW,
            tablet_waiting=4,
            tablet_last_seq=9,
            tablet_counted_at=NOW - timedelta(minutes=3),
            server_highest_seq=1,
            server_backlog=0,
        )
    )
    db.session.flush()
    tablet = by_label(report_for(app, world.admin))["Máy Yên Phong"]
    assert tablet.status == health.WIPED
    [reason] = tablet.reasons
    assert (reason.code, reason.value.lost_at_most, reason.value.after_seq) == ("wiped", 8, 1)


def test_a_new_tablet_beside_a_silent_backlog_raises_a_possible_wipe(
    app: Flask, world: World
) -> None:
    silent = by_label(report_for(app, world.admin))["Máy cổng 2"]
    assert silent.status == health.LAGGING
    make_device(world.slow.gate, label="Máy thay", enrolled_at=NOW - timedelta(minutes=30))

    silent = by_label(report_for(app, world.admin))["Máy cổng 2"]
    assert silent.status == health.WIPED
    [reason] = silent.reasons
    assert (reason.code, reason.value.lost_at_most) == ("possible_wipe", 7)
