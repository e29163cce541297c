"""Wipe reports: a wiped tablet, or the one replacing it, makes the loss a fact on the server."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select

from server.extensions import db
from server.models import AuditLog, Device, DeviceWipe, Enterprise, Gate, utcnow
from tests.api.wire import error_code, post_json
from tests.factories import make_device, make_enterprise, make_gate


def report(**overrides):  # type: ignore[no-untyped-def]
    return {"detected_at": utcnow().isoformat(), **overrides}


def test_a_tablet_reports_its_own_wipe_beside_what_the_server_last_heard(
    client: FlaskClient, gate: Gate
) -> None:
    last_sync = utcnow() - timedelta(minutes=20)
    device, token = make_device(gate, highest_seq=40, reported_backlog=3, last_sync_at=last_sync)
    counted = utcnow() - timedelta(minutes=1)

    response = post_json(
        client,
        "/devices/wipe-reports",
        report(waiting=7, last_seq=49, counted_at=counted.isoformat()),
        {"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 201
    body = response.get_json()
    # Seqs 41-49 were numbered after the last one the server has: up to 9 records.
    assert (body["device_id"], body["after_seq"], body["lost_at_most"]) == (device.id, 40, 9)
    wipe = db.session.scalar(select(DeviceWipe))
    assert wipe is not None
    assert (wipe.device_id, wipe.reported_by_id, wipe.tablet_waiting) == (device.id, device.id, 7)
    assert (wipe.server_backlog, wipe.server_last_sync_at) == (3, last_sync)
    assert wipe.last_known_at == counted.replace(microsecond=counted.microsecond)
    assert db.session.scalar(select(AuditLog.action).where(AuditLog.action == "device.wiped"))


def test_a_replacement_names_the_wiped_tablet_and_the_server_states_its_backlog(
    client: FlaskClient, gate: Gate
) -> None:
    last_sync = utcnow() - timedelta(hours=2)
    old, _ = make_device(
        gate, label="Máy cũ", highest_seq=12, reported_backlog=5, last_sync_at=last_sync
    )
    new, token = make_device(gate, label="Máy mới")
    headers = {"Authorization": f"Bearer {token}"}

    listed = client.get("/api/v1/devices/replaceable", headers=headers).get_json()["tablets"]
    assert [(t["device_id"], t["backlog"]) for t in listed] == [(old.id, 5)]

    response = post_json(
        client, "/devices/wipe-reports", report(replaces_device_id=old.id), headers
    )

    assert response.status_code == 201
    body = response.get_json()
    assert (body["device_id"], body["after_seq"], body["lost_at_most"]) == (old.id, 12, 5)
    wipe = db.session.scalar(select(DeviceWipe))
    assert wipe is not None
    assert (wipe.device_id, wipe.reported_by_id, wipe.tablet_waiting) == (old.id, new.id, None)
    assert wipe.last_known_at == last_sync


def test_a_tablet_of_another_enterprise_or_itself_cannot_be_named(
    client: FlaskClient, enterprise: Enterprise, gate: Gate
) -> None:
    _, token = make_device(gate)
    mine = db.session.scalar(select(Device))
    assert mine is not None
    theirs, _ = make_device(make_gate(make_enterprise(name="Công ty khác"), code="X1"))
    headers = {"Authorization": f"Bearer {token}"}

    for named in (theirs.id, mine.id, 999_999):
        response = post_json(
            client, "/devices/wipe-reports", report(replaces_device_id=named), headers
        )
        assert response.status_code == 404
        assert error_code(response) == "unknown_tablet"
    assert client.get("/api/v1/devices/replaceable", headers=headers).get_json()["tablets"] == []
    assert db.session.scalar(select(DeviceWipe)) is None


def test_a_broken_report_is_refused_and_changes_nothing(client: FlaskClient, gate: Gate) -> None:
    _, token = make_device(gate)
    headers = {"Authorization": f"Bearer {token}"}

    for body in (
        {},
        report(waiting=-1),
        report(waiting="3"),
        report(detected_at="2026-11-23T08:00:00"),
        report(extra=1),
    ):
        response = post_json(client, "/devices/wipe-reports", body, headers)
        assert response.status_code == 400
        assert error_code(response) == "validation_error"
    assert post_json(client, "/devices/wipe-reports", report()).status_code == 401
    assert db.session.scalar(select(DeviceWipe)) is None


def test_hr_replacement_code_records_the_old_tablets_wipe_with_the_enrolment(
    client: FlaskClient, gate: Gate
) -> None:
    from server.devices import issue_enrolment_code

    old, _ = make_device(gate, label="Máy hỏng", highest_seq=30, reported_backlog=4)
    issued = issue_enrolment_code(gate, actor=None, now=utcnow(), replaces=old)
    db.session.commit()

    body = {"code": issued.code, "label": "Máy thay", "app_version": "1.3.3"}
    response = post_json(client, "/devices/enroll", body)

    assert response.status_code == 201
    assert response.get_json()["replaces_device_id"] == old.id
    wipe = db.session.scalar(select(DeviceWipe))
    assert wipe is not None
    assert (wipe.device_id, wipe.reported_by_id) == (old.id, response.get_json()["device_id"])
    assert (wipe.server_highest_seq, wipe.lost_at_most) == (30, 4)
