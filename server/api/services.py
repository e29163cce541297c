"""Enrolling a tablet: a one-use code becomes a device with a bearer token, stored as a hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from server.audit import record_audit
from server.extensions import db
from server.models import Device, EnrolmentCode, Enterprise, Gate
from server.tokens import ENROLMENT_PREFIX, hash_secret, new_secret


class EnrolmentCodeInvalid(Exception):
    """Unknown, used or expired: one answer for all three, so a code cannot be probed."""


@dataclass(frozen=True)
class Enrolment:
    device: Device
    token: str
    enterprise: Enterprise
    gate: Gate
    gates: list[Gate]


def enrol_device(code: str, *, label: str, app_version: str, now: datetime) -> Enrolment:
    """Spend the code and create the device; the token is returned here and never again."""
    code = code.strip().upper().removeprefix(ENROLMENT_PREFIX)
    found = db.session.scalar(
        select(EnrolmentCode).where(EnrolmentCode.code_hash == hash_secret(code))
    )
    if found is None or found.used_at is not None or found.expires_at <= now:
        db.session.rollback()
        raise EnrolmentCodeInvalid
    # The conditional UPDATE is what makes the code one-use when two tablets race for it. An
    # UPDATE's result is a CursorResult; Session.execute is typed for any statement.
    claimed = cast(
        CursorResult[Any],
        db.session.execute(
            update(EnrolmentCode)
            .where(EnrolmentCode.id == found.id, EnrolmentCode.used_at.is_(None))
            .values(used_at=now)
        ),
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        raise EnrolmentCodeInvalid
    token = new_secret()
    device = Device(
        enterprise_id=found.enterprise_id,
        gate_id=found.gate_id,
        label=label,
        token_hash=hash_secret(token),
        app_version=app_version,
        enrolled_at=now,
    )
    db.session.add(device)
    db.session.flush()
    db.session.execute(
        update(EnrolmentCode).where(EnrolmentCode.id == found.id).values(device_id=device.id)
    )
    record_audit(
        None,
        "device.enrolled",
        now=now,
        target_type="device",
        target_id=device.id,
        enterprise_id=found.enterprise_id,
        details={"gate_id": found.gate_id, "label": label, "app_version": app_version},
    )
    gates = list(
        db.session.scalars(
            select(Gate)
            .where(Gate.enterprise_id == found.enterprise_id, Gate.active.is_(True))
            .order_by(Gate.code)
        )
    )
    enrolment = Enrolment(device, token, device.enterprise, found.gate, gates)
    db.session.commit()
    return enrolment
