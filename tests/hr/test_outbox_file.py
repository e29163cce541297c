"""HR uploads a tablet's signed waiting-events file; its events go through the push path."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditLog, GateEvent, QuarantinedEvent, SyncBatch, utcnow
from sync.outbox_file import (
    OLD_FORMAT,
    build_outbox_file,
    canonical_json,
    public_key_text,
    signature_of,
)
from tests.api.wire import batch, event, post_json
from tests.factories import login, make_device, make_enterprise, make_gate, make_user

URL = "/hr/tablets/outbox-file"


@pytest.fixture
def site(app):
    """An enterprise with a gate, an enrolled tablet and a signed-in HR user."""
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    device, token = make_device(gate)
    hr = make_user("hr", enterprise=enterprise)
    return enterprise, gate, device, token, hr


def tablet_key(device) -> ec.EllipticCurvePrivateKey:
    """The key pair the gate app makes at enrolment; its public half registered on `device`."""
    private_key = ec.generate_private_key(ec.SECP256R1())
    device.public_key = public_key_text(private_key.public_key())
    db.session.commit()
    return private_key


def outbox(device, key, events, **overrides):
    document = build_outbox_file(
        private_key=key,
        device_id=device.id,
        enterprise_id=device.enterprise_id,
        exported_at=utcnow() - timedelta(hours=5),
        app_version="1.2.0",
        events=events,
    )
    return {**document, **overrides}


def upload(client, document, filename="outbox.json"):
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return client.post(
        URL,
        data={"file": (io.BytesIO(data), filename)},
        content_type="multipart/form-data",
    )


def stored() -> int:
    return db.session.scalar(select(func.count(GateEvent.id)))


def test_signed_file_is_applied_as_a_push_of_that_tablet(client, site) -> None:
    _, gate, device, _, hr = site
    key = tablet_key(device)
    login(client, hr)
    events = [event(seq, gate.id) for seq in (1, 2, 3)]

    response = upload(client, outbox(device, key, events))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count("Đã thêm") >= 3
    rows = db.session.scalars(select(GateEvent).order_by(GateEvent.seq)).all()
    assert [str(row.id) for row in rows] == [e["id"] for e in events]
    assert {row.device_id for row in rows} == {device.id}
    assert {row.method for row in rows} == {"manual"}
    pushes = db.session.scalars(select(SyncBatch)).all()
    assert [(p.device_id, p.accepted, p.app_version) for p in pushes] == [(device.id, 3, "1.2.0")]
    audit = db.session.scalar(
        select(AuditLog).where(AuditLog.action == "device.outbox_file_imported")
    )
    assert audit.user_id == hr.id
    assert (audit.details["accepted"], audit.details["device_revoked"]) == (3, False)


def test_events_already_pushed_are_duplicates_and_stored_once(client, site) -> None:
    _, gate, device, token, hr = site
    key = tablet_key(device)
    first, second = event(1, gate.id), event(2, gate.id)
    pushed = post_json(client, "/sync/push", batch(first), {"Authorization": f"Bearer {token}"})
    assert pushed.status_code == 200
    login(client, hr)
    document = outbox(device, key, [first, second])

    upload(client, document)
    again = upload(client, document)

    assert again.status_code == 200
    assert again.get_data(as_text=True).count("Đã nhận trước đó") >= 3
    assert stored() == 2


def test_tampered_file_is_refused_and_nothing_is_stored(client, site) -> None:
    _, gate, device, _, hr = site
    key = tablet_key(device)
    login(client, hr)
    document = outbox(device, key, [event(1, gate.id)])
    document["events"][0]["direction"] = "out"

    response = upload(client, document)

    assert response.status_code == 400
    assert "Chữ ký của tệp không khớp" in response.get_data(as_text=True)
    assert stored() == 0
    assert db.session.scalar(select(func.count(SyncBatch.id))) == 0
    refusal = db.session.scalar(
        select(AuditLog).where(AuditLog.action == "device.outbox_file_refused")
    )
    assert refusal.details["reason"] == "bad_signature"


def test_another_enterprises_file_is_refused_and_nothing_is_stored(client, site) -> None:
    *_, hr = site
    other_gate = make_gate(make_enterprise())
    other_device, _ = make_device(other_gate)
    login(client, hr)

    response = upload(
        client, outbox(other_device, tablet_key(other_device), [event(1, other_gate.id)])
    )

    assert response.status_code == 400
    assert "không thuộc doanh nghiệp của bạn" in response.get_data(as_text=True)
    assert stored() == 0


def test_a_file_claiming_another_enterprise_for_our_tablet_is_refused(client, site) -> None:
    _, gate, device, _, hr = site
    key = tablet_key(device)
    other = make_enterprise()
    login(client, hr)
    document = outbox(device, key, [event(1, gate.id)], enterprise_id=other.id)
    document["signature"] = signature_of(document, key)

    response = upload(client, document)

    assert response.status_code == 400
    assert stored() == 0


def test_revoked_tablets_file_is_kept_and_flagged(client, site) -> None:
    _, gate, device, _, hr = site
    key = tablet_key(device)
    device.revoked_at = utcnow()
    db.session.commit()
    login(client, hr)

    response = upload(client, outbox(device, key, [event(1, gate.id)]))

    assert response.status_code == 200
    assert "đã bị thu hồi" in response.get_data(as_text=True)
    assert stored() == 1
    audit = db.session.scalar(
        select(AuditLog).where(AuditLog.action == "device.outbox_file_imported")
    )
    assert audit.details["device_revoked"] is True


def test_bad_events_are_rejected_one_by_one_and_quarantined(client, site) -> None:
    _, gate, device, _, hr = site
    key = tablet_key(device)
    other_gate = make_gate(make_enterprise())
    login(client, hr)
    good = event(1, gate.id)
    foreign = event(2, other_gate.id)
    broken = event(3, gate.id, direction="sideways")

    response = upload(client, outbox(device, key, [good, foreign, broken]))

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Cổng không tồn tại hoặc không thuộc doanh nghiệp này." in page
    assert "Sự kiện có trường không hợp lệ; xem chi tiết." in page
    assert stored() == 1
    reasons = db.session.scalars(select(QuarantinedEvent.reason).order_by(QuarantinedEvent.seq))
    assert list(reasons) == ["unknown_gate", "invalid_event"]


def test_a_long_outbox_is_applied_in_push_sized_batches(client, site) -> None:
    _, gate, device, _, hr = site
    key = tablet_key(device)
    login(client, hr)
    events = [event(seq, gate.id) for seq in range(1, 1203)]

    response = upload(client, outbox(device, key, events))

    assert response.status_code == 200
    assert stored() == 1202
    counts = db.session.scalars(select(SyncBatch.accepted).order_by(SyncBatch.id)).all()
    assert counts == [500, 500, 202]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG not json", "không phải là tệp JSON"),
        (json.dumps({"format": "something-else"}).encode(), "không phải là tệp sự kiện đang chờ"),
        (json.dumps([1, 2]).encode(), "không phải là tệp sự kiện đang chờ"),
    ],
)
def test_files_that_are_not_outbox_files_are_refused(client, site, content, message) -> None:
    *_, hr = site
    login(client, hr)

    response = upload(client, content)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert stored() == 0


def test_inspectors_cannot_upload_and_anonymous_users_are_sent_to_sign_in(client, site) -> None:
    _, gate, device, *_ = site
    key = tablet_key(device)
    assert client.get(URL).status_code == 302
    inspector = make_user("inspector")
    login(client, inspector)
    response = upload(client, outbox(device, key, [event(1, gate.id)]))
    assert response.status_code == 403
    assert stored() == 0


def test_an_upload_leaves_the_tablets_own_link_state_as_it_last_reported(client, site) -> None:
    _, gate, device, token, hr = site
    key = tablet_key(device)
    pushed = post_json(
        client, "/sync/push", batch(event(1, gate.id)), {"Authorization": f"Bearer {token}"}
    )
    assert pushed.status_code == 200
    db.session.refresh(device)
    before = (device.last_seen_at, device.last_sync_at, device.reported_backlog, device.app_version)
    login(client, hr)

    upload(client, outbox(device, key, [event(seq, gate.id) for seq in (2, 3, 4)]))

    db.session.refresh(device)
    # Inspectors still see when the tablet itself last synced; the seqs it sent are known.
    assert (
        device.last_seen_at,
        device.last_sync_at,
        device.reported_backlog,
        device.app_version,
    ) == before
    assert device.highest_seq == 4
    assert stored() == 4


def refusal_reasons() -> list[str]:
    rows = db.session.scalars(
        select(AuditLog).where(AuditLog.action == "device.outbox_file_refused")
    )
    return [row.details["reason"] for row in rows]


def test_a_file_signed_the_old_way_with_the_token_hash_is_refused(client, site) -> None:
    _, gate, device, token, hr = site
    tablet_key(device)
    login(client, hr)
    document = {
        "format": OLD_FORMAT,
        "device_id": device.id,
        "enterprise_id": device.enterprise_id,
        "exported_at": utcnow().isoformat(),
        "app_version": "1.2.0",
        "events": [event(1, gate.id)],
    }
    key = hashlib.sha256(token.encode()).hexdigest().encode()
    document["signature"] = hmac.new(key, canonical_json(document), hashlib.sha256).hexdigest()

    response = upload(client, document)

    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "chữ ký của nó không còn được chấp nhận" in page
    assert stored() == 0
    assert refusal_reasons() == ["old_format"]


@pytest.mark.parametrize(
    ("registered", "message", "reason"),
    [
        # Someone who can read the database has no key of the tablet's: a file they sign fails.
        (True, "Chữ ký của tệp không khớp", "bad_signature"),
        # Enrolled by an app that made no key: nothing can be checked, so nothing is taken.
        (False, "không có khoá ký", "no_tablet_key"),
    ],
)
def test_a_file_not_signed_by_the_tablets_registered_key_is_refused(
    client, site, registered, message, reason
) -> None:
    _, gate, device, _, hr = site
    if registered:
        tablet_key(device)
    login(client, hr)
    other_key = ec.generate_private_key(ec.SECP256R1())

    response = upload(client, outbox(device, other_key, [event(1, gate.id)]))

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert stored() == 0
    assert db.session.scalar(select(func.count(SyncBatch.id))) == 0
    assert refusal_reasons() == [reason]
