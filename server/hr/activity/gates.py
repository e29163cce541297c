"""Gates and the tablets enrolled at them: create, edit, enrol, revoke, and their sync state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from server.access import scoped
from server.audit import record_audit
from server.devices import IssuedEnrolmentCode, issue_enrolment_code
from server.extensions import db
from server.hr.activity.services import ActivityError
from server.models import Device, Enterprise, Gate, User
from server.tokens import new_token
from sync.schemas import ID_CARD_FIELDS


def list_gates(user: User) -> list[Gate]:
    return list(db.session.scalars(scoped(Gate, user).order_by(Gate.active.desc(), Gate.code)))


def _code_taken(user: User, code: str, *, except_id: int | None = None) -> bool:
    query = scoped(Gate, user).where(Gate.code == code)
    if except_id is not None:
        query = query.where(Gate.id != except_id)
    return db.session.scalar(query) is not None


def _unused_poster_token() -> str:
    while True:
        token = new_token()
        if db.session.scalar(select(Gate.id).where(Gate.poster_token == token)) is None:
            return token


def create_gate(user: User, *, code: str, name: str, now: datetime, ip: str = "") -> Gate:
    """A new gate of the user's enterprise, with its own poster token."""
    code = code.strip().upper()
    if _code_taken(user, code):
        raise ActivityError(_l("Another gate already has the code %(code)s.", code=code))
    gate = Gate(
        enterprise_id=user.enterprise_id,
        code=code,
        name=name.strip(),
        poster_token=_unused_poster_token(),
        active=True,
    )
    db.session.add(gate)
    db.session.flush()
    record_audit(
        user,
        "create_gate",
        now=now,
        target_type="gate",
        target_id=gate.id,
        enterprise_id=gate.enterprise_id,
        ip=ip,
        details={"code": code, "name": gate.name},
    )
    return gate


def update_gate(
    user: User, gate: Gate, *, code: str, name: str, active: bool, now: datetime, ip: str = ""
) -> Gate:
    code = code.strip().upper()
    if _code_taken(user, code, except_id=gate.id):
        raise ActivityError(_l("Another gate already has the code %(code)s.", code=code))
    before = {"code": gate.code, "name": gate.name, "active": gate.active}
    gate.code, gate.name, gate.active = code, name.strip(), active
    record_audit(
        user,
        "update_gate",
        now=now,
        target_type="gate",
        target_id=gate.id,
        enterprise_id=gate.enterprise_id,
        ip=ip,
        details={"before": before, "after": {"code": code, "name": gate.name, "active": active}},
    )
    return gate


def id_card_fields(user: User) -> list[str]:
    """What the user's enterprise keeps of a visitor's chip ID card besides the name."""
    query = select(Enterprise.id_card_fields).where(Enterprise.id == user.enterprise_id)
    return list(db.session.scalar(query) or [])


def set_id_card_fields(user: User, kept: list[str], *, now: datetime, ip: str = "") -> list[str]:
    """Choose what the enterprise's gates keep of a visitor's chip ID card besides the name."""
    enterprise = db.session.get(Enterprise, user.enterprise_id)
    if enterprise is None or not set(kept) <= set(ID_CARD_FIELDS):
        raise ActivityError(_l("Choose among the fields listed."))
    # Stored in the protocol's order, so the tablets and the audit log read it the same way.
    chosen = [name for name in ID_CARD_FIELDS if name in kept]
    before = list(enterprise.id_card_fields)
    enterprise.id_card_fields = chosen
    record_audit(
        user,
        "update_id_card_fields",
        now=now,
        target_type="enterprise",
        target_id=enterprise.id,
        enterprise_id=enterprise.id,
        ip=ip,
        details={"before": before, "after": chosen},
    )
    return chosen


def enrol_tablet(user: User, gate: Gate, *, now: datetime, ip: str = "") -> IssuedEnrolmentCode:
    """A one-use, 15-minute code that binds a new tablet to `gate`."""
    if not gate.active:
        raise ActivityError(_l("This gate is closed; reopen it before enrolling a tablet."))
    record_audit(
        user,
        "issue_enrolment_code",
        now=now,
        target_type="gate",
        target_id=gate.id,
        enterprise_id=gate.enterprise_id,
        ip=ip,
    )
    return issue_enrolment_code(gate, actor=user, now=now)


@dataclass(frozen=True)
class TabletState:
    device: Device
    status: str  # revoked, never, stale, lagging, ok
    unsynced_for: timedelta | None
    skew_flagged: bool


def list_tablets(
    user: User,
    *,
    now: datetime,
    lagging_after: timedelta,
    stale_after: timedelta,
    skew_flag_seconds: float,
) -> list[TabletState]:
    """Every tablet of the enterprise, in service first, with how healthy its sync looks."""
    devices = db.session.scalars(
        scoped(Device, user)
        .join(Gate, Gate.id == Device.gate_id)
        .order_by(Device.revoked_at.is_not(None), Gate.code, Device.label)
    )
    states = []
    for device in devices:
        since = now - device.last_sync_at if device.last_sync_at else None
        if device.revoked_at is not None:
            status = "revoked"
        elif since is None:
            status = "never"
        elif since > stale_after:
            status = "stale"
        elif since > lagging_after or device.reported_backlog > 0:
            status = "lagging"
        else:
            status = "ok"
        skew = device.last_skew_seconds
        states.append(
            TabletState(
                device=device,
                status=status,
                unsynced_for=since,
                skew_flagged=skew is not None and abs(skew) > skew_flag_seconds,
            )
        )
    return states


def replace_tablet(
    user: User, device: Device, *, now: datetime, ip: str = ""
) -> IssuedEnrolmentCode:
    """A code for the tablet that replaces a wiped or broken one: enrolling with it records the
    old tablet's loss on the board (PROTOCOL §10)."""
    if not device.gate.active:
        raise ActivityError(_l("This gate is closed; reopen it before enrolling a tablet."))
    record_audit(
        user,
        "issue_replacement_code",
        now=now,
        target_type="device",
        target_id=device.id,
        enterprise_id=device.enterprise_id,
        ip=ip,
        details={"label": device.label, "gate_id": device.gate_id},
    )
    return issue_enrolment_code(device.gate, actor=user, now=now, replaces=device)


def revoke_tablet(user: User, device: Device, *, now: datetime, ip: str = "") -> Device:
    """Take a tablet out of service: its token stops working at once (every later call is 401)."""
    if device.revoked_at is not None:
        raise ActivityError(_l("This tablet was already revoked."))
    device.revoked_at = now
    record_audit(
        user,
        "revoke_device",
        now=now,
        target_type="device",
        target_id=device.id,
        enterprise_id=device.enterprise_id,
        ip=ip,
        details={"label": device.label, "gate_id": device.gate_id},
    )
    return device
