"""Enrolment: a one-use code bound to a gate becomes a device with a token kept only as a hash."""

from __future__ import annotations

from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric import ec
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditLog, Device, Enterprise, Gate, utcnow
from server.tokens import hash_secret
from sync.outbox_file import public_key_text
from tests.api.wire import error_code, post_json
from tests.factories import make_enrolment_code, make_gate

ENROL_BODY = {"label": "Cổng 1 - máy 1", "app_version": "1.0.0"}


def enrol(client: FlaskClient, code: str, label: str = "Cổng 1 - máy 1"):
    return post_json(client, "/devices/enroll", {**ENROL_BODY, "code": code, "label": label})


def test_code_enrols_a_device_bound_to_its_gate(
    client: FlaskClient, enterprise: Enterprise, gate: Gate
) -> None:
    side_gate = make_gate(enterprise, code="G2", name="Cổng phụ")
    issued = make_enrolment_code(gate, now=utcnow())

    response = enrol(client, issued.qr_content.lower())

    assert response.status_code == 201
    body = response.get_json()
    assert body["enterprise"] == {"id": enterprise.id, "name": enterprise.name}
    assert body["gate"] == {"id": gate.id, "name": gate.name, "code": "G1"}
    assert [g["id"] for g in body["gates"]] == [gate.id, side_gate.id]
    device = db.session.get(Device, body["device_id"])
    assert device is not None
    assert device.token_hash == hash_secret(body["token"])
    assert body["token"] not in (device.token_hash, device.label)
    assert (device.gate_id, device.label) == (gate.id, "Cổng 1 - máy 1")
    assert db.session.scalar(select(AuditLog.action)) == "device.enrolled"


def test_token_from_enrolment_authorises_sync(client: FlaskClient, gate: Gate) -> None:
    token = enrol(client, make_enrolment_code(gate, now=utcnow()).code).get_json()["token"]

    response = client.get("/api/v1/sync/roster", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200


def test_a_code_works_once(client: FlaskClient, gate: Gate) -> None:
    issued = make_enrolment_code(gate, now=utcnow())
    assert enrol(client, issued.code).status_code == 201

    again = enrol(client, issued.code)

    assert again.status_code == 404
    assert error_code(again) == "enrolment_code_invalid"
    assert len(db.session.scalars(select(Device)).all()) == 1


def test_an_expired_code_is_refused(client: FlaskClient, gate: Gate) -> None:
    issued = make_enrolment_code(gate, now=utcnow() - timedelta(minutes=16))

    response = enrol(client, issued.code)

    assert response.status_code == 404
    assert error_code(response) == "enrolment_code_invalid"
    assert db.session.scalars(select(Device)).all() == []


def test_an_unknown_code_is_refused(client: FlaskClient, gate: Gate) -> None:
    response = enrol(client, "ABCDEFGHJK")

    assert response.status_code == 404
    assert error_code(response) == "enrolment_code_invalid"


def test_enrolment_fields_are_validated(client: FlaskClient, gate: Gate) -> None:
    issued = make_enrolment_code(gate, now=utcnow())

    response = post_json(client, "/devices/enroll", {"code": issued.code, "label": "", "extra": 1})

    assert response.status_code == 400
    assert error_code(response) == "validation_error"
    assert set(response.get_json()["error"]["details"]) == {"label", "app_version", "extra"}
    # The refused request did not spend the code.
    assert enrol(client, issued.code).status_code == 201


def test_code_from_the_command_line_enrols(app: Flask, client: FlaskClient, gate: Gate) -> None:
    printed = app.test_cli_runner().invoke(args=["enroll-code", "--gate", str(gate.id)])
    qr_content = printed.stdout.strip()
    assert qr_content.startswith("GL1:E:")

    response = enrol(client, qr_content)

    assert response.status_code == 201
    assert response.get_json()["gate"]["id"] == gate.id


def test_the_tablets_public_key_is_kept_with_the_device(client: FlaskClient, gate: Gate) -> None:
    public_key = public_key_text(ec.generate_private_key(ec.SECP256R1()).public_key())
    body = {**ENROL_BODY, "code": make_enrolment_code(gate, now=utcnow()).code}

    response = post_json(client, "/devices/enroll", {**body, "public_key": public_key})

    assert response.status_code == 201
    device = db.session.get(Device, response.get_json()["device_id"])
    assert device is not None
    assert device.public_key == public_key


def test_an_enrolment_without_a_key_is_accepted_and_keeps_none(
    client: FlaskClient, gate: Gate
) -> None:
    response = enrol(client, make_enrolment_code(gate, now=utcnow()).code)

    device = db.session.get(Device, response.get_json()["device_id"])
    assert device is not None
    assert device.public_key is None


def test_a_public_key_that_is_not_p256_is_refused_and_spends_nothing(
    client: FlaskClient, gate: Gate
) -> None:
    issued = make_enrolment_code(gate, now=utcnow())
    p384 = public_key_text(ec.generate_private_key(ec.SECP384R1()).public_key())

    for public_key in (p384, "bm90IGEga2V5"):
        refused = post_json(
            client, "/devices/enroll", {**ENROL_BODY, "code": issued.code, "public_key": public_key}
        )
        assert refused.status_code == 400
        assert error_code(refused) == "validation_error"
        assert set(refused.get_json()["error"]["details"]) == {"public_key"}

    assert db.session.scalar(select(func.count(Device.id))) == 0
    assert enrol(client, issued.code).status_code == 201
