"""Plain factory functions: each makes one committed row, any field overridable."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from datetime import datetime, timedelta
from typing import Any

from server import last_passage
from server.devices import IssuedEnrolmentCode, issue_enrolment_code
from server.extensions import db
from server.models import (
    DeclarationQuestion,
    Device,
    Enterprise,
    Gate,
    GateEvent,
    GatePoster,
    RollCall,
    RollCallEntry,
    User,
    Visitor,
    VisitorPass,
    Worker,
    Zone,
    utcnow,
)
from server.roster import next_roster_version
from server.text import fold
from server.tokens import hash_secret, new_secret, new_token

_numbers = itertools.count(1)
PASSWORD = "correct horse battery"


def _save(row: Any) -> Any:
    db.session.add(row)
    db.session.commit()
    return row


def make_zone(**overrides: Any) -> Zone:
    n = next(_numbers)
    return _save(Zone(**{"name": f"Khu công nghiệp {n}", **overrides}))


def make_enterprise(**overrides: Any) -> Enterprise:
    n = next(_numbers)
    fields = {"tax_code": f"{n:010d}", "name": f"Công ty TNHH Số {n}", "address": "Bắc Ninh"}
    return _save(Enterprise(**{**fields, **overrides}))


def make_gate(enterprise: Enterprise, **overrides: Any) -> Gate:
    n = next(_numbers)
    fields = {"code": f"G{n}", "name": f"Cổng {n}", "poster_token": new_token()}
    return _save(Gate(enterprise_id=enterprise.id, **{**fields, **overrides}))


def make_worker(enterprise: Enterprise, **overrides: Any) -> Worker:
    n = next(_numbers)
    fields: dict[str, Any] = {
        "employee_code": f"NV{n:05d}",
        "full_name": f"Nguyễn Văn {n}",
        "phone": f"09{n:08d}",
        "department": "May 1",
        "badge_token": new_token(),
        **overrides,
    }
    fields.setdefault("search_name", fold(fields["full_name"]))
    worker = Worker(enterprise_id=enterprise.id, **fields)
    worker.roster_version = next_roster_version(enterprise.id)
    return _save(worker)


def make_visitor_pass(
    enterprise: Enterprise, *, now: datetime | None = None, **overrides: Any
) -> VisitorPass:
    now = now or utcnow()
    visitor = Visitor(
        enterprise_id=enterprise.id, full_name=overrides.pop("full_name", "Trần Thị Khách")
    )
    fields = {
        "token": new_token(),
        "valid_from": now - timedelta(hours=1),
        "valid_until": now + timedelta(hours=8),
        **overrides,
    }
    visitor_pass = VisitorPass(enterprise_id=enterprise.id, visitor=visitor, **fields)
    visitor_pass.roster_version = next_roster_version(enterprise.id)
    return _save(visitor_pass)


def make_user(
    role: str,
    *,
    enterprise: Enterprise | None = None,
    zones: tuple[Zone, ...] = (),
    **overrides: Any,
) -> User:
    n = next(_numbers)
    user = User(
        username=overrides.pop("username", f"{role}{n}"),
        role=role,
        enterprise=enterprise,
        **overrides,
    )
    user.set_password(PASSWORD)
    user.zones = list(zones)
    return _save(user)


def make_enrolment_code(gate: Gate, *, now: datetime | None = None) -> IssuedEnrolmentCode:
    """A committed one-use code for a tablet at `gate`."""
    issued = issue_enrolment_code(gate, actor=None, now=now or utcnow())
    db.session.commit()
    return issued


def make_device(gate: Gate, **overrides: Any) -> tuple[Device, str]:
    """A tablet enrolled at `gate`, and its bearer token."""
    token = new_secret()
    fields = {
        "label": "Máy 1",
        "token_hash": hash_secret(token),
        "app_version": "1.0.0",
        **overrides,
    }
    device = _save(Device(enterprise_id=gate.enterprise_id, gate_id=gate.id, **fields))
    return device, token


def make_event(
    gate: Gate,
    *,
    worker: Worker | None = None,
    visitor_pass: VisitorPass | None = None,
    device: Device | None = None,
    **overrides: Any,
) -> GateEvent:
    """A gate event of `worker`, of the holder of `visitor_pass`, or of an unknown person."""
    occurred = overrides.pop("occurred_at", utcnow())
    subject: dict[str, Any] = {"subject_type": "text", "subject_value": "Khách lạ"}
    if worker:
        subject = {"subject_type": "badge", "subject_value": worker.badge_token or "Khách lạ"}
    elif visitor_pass:
        subject = {
            "subject_type": "pass",
            "subject_value": visitor_pass.token,
            "visitor_id": visitor_pass.visitor_id,
            "visitor_pass_id": visitor_pass.id,
        }
    fields: dict[str, Any] = {
        "id": uuid.uuid4(),
        "direction": "in",
        "method": "scanner",
        **subject,
        "subject_kind": "worker" if worker else "visitor" if visitor_pass else "unresolved",
        "worker_id": worker.id if worker else None,
        "occurred_at": occurred,
        "occurred_offset_minutes": 420,
        "corrected_at": occurred,
        "received_at": occurred,
        "flags": [],
        **overrides,
    }
    fields.setdefault("content_hash", hashlib.sha256(str(fields["id"]).encode()).hexdigest())
    event = GateEvent(
        enterprise_id=gate.enterprise_id,
        gate_id=gate.id,
        device_id=device.id if device else None,
        **fields,
    )
    # As the sync store would: the device counts the numbered events of its epoch it stores.
    if device and event.seq is not None and fields.get("seq_epoch", 0) == device.seq_epoch:
        device.seqs_stored += 1
    db.session.add(event)
    db.session.flush()
    # And the person's latest passage, as the store keeps it.
    last_passage.record_stored(db.session.connection(), GateEvent.id == event.id)
    return _save(event)


def make_poster(
    *, enterprise: Enterprise, gate: Gate | None = None, **overrides: Any
) -> GatePoster:
    """A self check-in QR poster of `gate` (a new gate of `enterprise` when none is given)."""
    gate = gate or make_gate(enterprise)
    fields = {"label": "Cửa nhà ăn", "token": new_token(), **overrides}
    return _save(GatePoster(enterprise_id=enterprise.id, gate_id=gate.id, **fields))


def make_question(
    *, enterprise: Enterprise, gate: Gate | None = None, **overrides: Any
) -> DeclarationQuestion:
    """A yes/no declaration question that alerts HR on "yes"; `gate` is ignored (questions are
    per enterprise) and accepted so every row factory has one signature."""
    fields = {
        "kind": "yes_no",
        "text_vi": "Bạn có bị sốt hoặc ho không?",
        "text_en": "Do you have a fever or a cough?",
        "alert_on": "yes",
        **overrides,
    }
    return _save(DeclarationQuestion(enterprise_id=enterprise.id, **fields))


def login(client: Any, user: User, password: str = PASSWORD) -> None:
    response = client.post("/auth/login", data={"username": user.username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)


def make_roll_call(
    *, enterprise: Enterprise, gate: Gate | None = None, **overrides: Any
) -> RollCall:
    """A roll call a tablet of `gate` sent: two visitors, one ticked off, one not yet seen."""
    gate = gate or make_gate(enterprise)
    device, _token = make_device(gate)
    started = overrides.pop("started_at", utcnow() - timedelta(minutes=10))
    fields: dict[str, Any] = {
        "client_id": uuid.uuid4(),
        "version": 2,
        "started_at": started,
        "received_at": started,
        "updated_at": started,
        "entries": [
            RollCallEntry(person_key="v:khach a", kind="visitor", name="Khách A"),
            RollCallEntry(
                person_key="v:khach b",
                kind="visitor",
                name="Khách B",
                ticked_at=started + timedelta(minutes=3),
            ),
        ],
        **overrides,
    }
    return _save(
        RollCall(enterprise_id=enterprise.id, device_id=device.id, gate_id=gate.id, **fields)
    )
