"""Enrolling a tablet: a one-use code becomes a device with a bearer token, stored as a hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update

from server.audit import record_audit
from server.extensions import db
from server.models import Device, DeviceWipe, EnrolmentCode, Enterprise, Gate
from server.tokens import ENROLMENT_PREFIX, hash_secret, new_secret
from sync.store import DeviceContext


class EnrolmentCodeInvalid(Exception):
    """Unknown, used or expired: one answer for all three, so a code cannot be probed."""


@dataclass(frozen=True)
class Enrolment:
    device: Device
    token: str
    enterprise: Enterprise
    gate: Gate
    gates: list[Gate]
    # The tablet HR's "replace tablet X" code named; its wipe is recorded with the enrolment.
    replaces_device_id: int | None = None


def enrol_device(
    code: str, *, label: str, app_version: str, now: datetime, public_key: str | None = None
) -> Enrolment:
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
        public_key=public_key,
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
    replaced = db.session.get(Device, found.replaces_device_id or 0)
    if replaced is not None and replaced.enterprise_id == found.enterprise_id:
        record_wipe(
            DeviceContext(device.id, device.enterprise_id), replaced_by_hr(replaced, now), now=now
        )
    else:
        replaced = None
    return Enrolment(
        device, token, device.enterprise, found.gate, gates, replaced.id if replaced else None
    )


def replaced_by_hr(device: Device, now: datetime) -> dict[str, Any]:
    """The wipe report an enrolment with HR's replacement code stands for: no figures of the
    tablet's own, only what the server last heard from it."""
    return {
        "replaces_device_id": device.id,
        "waiting": None,
        "last_seq": None,
        "counted_at": None,
        "oldest_pending_at": None,
        "detected_at": now,
    }


class UnknownTablet(Exception):
    """The tablet a wipe report names is not another tablet of the reporter's enterprise."""


def record_wipe(reporter: DeviceContext, report: dict[str, Any], *, now: datetime) -> DeviceWipe:
    """Make a wipe a fact: what the tablet's surviving storage said, beside what the server last
    heard from the wiped tablet (PROTOCOL §10). Flushes; the request commits."""
    wiped_id = report["replaces_device_id"] or reporter.device_id
    wiped = db.session.get(Device, wiped_id)
    if wiped is None or wiped.enterprise_id != reporter.enterprise_id:
        raise UnknownTablet
    if report["replaces_device_id"] == reporter.device_id:
        raise UnknownTablet
    wipe = DeviceWipe(
        enterprise_id=wiped.enterprise_id,
        device_id=wiped.id,
        reported_by_id=reporter.device_id,
        received_at=now,
        detected_at=report["detected_at"],
        tablet_waiting=report["waiting"],
        tablet_last_seq=report["last_seq"],
        tablet_counted_at=report["counted_at"],
        tablet_oldest_pending_at=report["oldest_pending_at"],
        server_highest_seq=wiped.highest_seq,
        server_backlog=wiped.reported_backlog,
        server_oldest_pending_at=wiped.oldest_pending_at,
        server_last_sync_at=wiped.last_sync_at,
    )
    db.session.add(wipe)
    db.session.flush()
    record_audit(
        None,
        "device.wiped",
        now=now,
        target_type="device",
        target_id=wiped.id,
        enterprise_id=wiped.enterprise_id,
        details={"reported_by": reporter.device_id, "lost_at_most": wipe.lost_at_most},
    )
    return wipe


def replaceable_tablets(reporter: DeviceContext) -> list[Device]:
    """The enterprise's other live tablets, latest synced first: what a new tablet may replace."""
    return list(
        db.session.scalars(
            select(Device)
            .where(
                Device.enterprise_id == reporter.enterprise_id,
                Device.id != reporter.device_id,
                Device.revoked_at.is_(None),
            )
            .order_by(Device.last_sync_at.desc().nulls_last(), Device.id)
        )
    )
