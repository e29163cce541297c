"""What administrators read and change across the whole system; the request commits each verb."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from server.access import scoped
from server.audit import record_audit
from server.extensions import db
from server.models import Enterprise, GateEvent, QuarantinedEvent, User, Zone


class Conflict(ValueError):
    """The change would break a uniqueness rule (a name, tax code or username already taken)."""


@dataclass(frozen=True)
class Overview:
    zones: int
    enterprises: int
    enterprises_outside_zones: int
    users: int
    events: int
    quarantined: int


def _count(column, *criteria) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count(column)).where(*criteria)) or 0


def overview() -> Overview:
    return Overview(
        zones=_count(Zone.id),
        enterprises=_count(Enterprise.id),
        enterprises_outside_zones=_count(Enterprise.id, Enterprise.zone_id.is_(None)),
        users=_count(User.id, User.active.is_(True)),
        events=_count(GateEvent.id),
        quarantined=_count(QuarantinedEvent.id),
    )


def _flush_or_conflict() -> None:
    """Write the pending change, turning a uniqueness violation into Conflict (nothing kept)."""
    try:
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise Conflict(str(error.orig)) from error


def zones(actor: User) -> list[tuple[Zone, int]]:
    """Zones with how many enterprises each holds."""
    counts = (
        select(Enterprise.zone_id, func.count(Enterprise.id))
        .group_by(Enterprise.zone_id)
        .subquery()
    )
    rows = db.session.execute(
        scoped(Zone, actor)
        .outerjoin(counts, counts.c.zone_id == Zone.id)
        .add_columns(func.coalesce(counts.c[1], 0))
        .order_by(Zone.name)
    )
    return [(zone, n) for zone, n in rows]


def save_zone(
    actor: User, zone: Zone | None, *, name: str, province_code: int | None, now: datetime
) -> Zone:
    """Create a zone (zone None) or rename it."""
    created = zone is None
    zone = zone or Zone()
    zone.name, zone.province_code = name.strip(), province_code or None
    db.session.add(zone)
    _flush_or_conflict()
    record_audit(
        actor,
        "admin.zone_created" if created else "admin.zone_updated",
        now=now,
        target_type="zone",
        target_id=zone.id,
        details={"name": zone.name},
    )
    return zone


def enterprises(actor: User) -> list[tuple[Enterprise, str]]:
    rows = db.session.execute(
        scoped(Enterprise, actor)
        .outerjoin(Zone, Zone.id == Enterprise.zone_id)
        .add_columns(Zone.name)
        .order_by(Enterprise.name)
    )
    return [(enterprise, zone_name or "") for enterprise, zone_name in rows]


def save_enterprise(
    actor: User,
    enterprise: Enterprise | None,
    *,
    tax_code: str,
    name: str,
    address: str,
    zone_id: int | None,
    now: datetime,
) -> Enterprise:
    """Create an enterprise or change it; zone_id None puts it outside every zone."""
    created = enterprise is None
    enterprise = enterprise or Enterprise()
    enterprise.tax_code, enterprise.name = tax_code.strip(), name.strip()
    enterprise.address, enterprise.zone_id = address.strip(), zone_id or None
    db.session.add(enterprise)
    _flush_or_conflict()
    record_audit(
        actor,
        "admin.enterprise_created" if created else "admin.enterprise_updated",
        now=now,
        target_type="enterprise",
        target_id=enterprise.id,
        enterprise_id=enterprise.id,
        details={"name": enterprise.name, "zone_id": enterprise.zone_id},
    )
    return enterprise


def users(actor: User) -> list[User]:
    return list(db.session.scalars(scoped(User, actor).order_by(User.role, User.username)))


@dataclass(frozen=True)
class UserFields:
    username: str
    full_name: str
    role: str
    enterprise_id: int | None
    zone_ids: list[int]
    active: bool


def save_user(
    actor: User, user: User | None, fields: UserFields, *, password: str | None, now: datetime
) -> User:
    """Create or change a console user; the scope that does not fit the role is cleared."""
    created = user is None
    if user is not None and user.id == actor.id and (not fields.active or fields.role != "admin"):
        raise Conflict("an administrator cannot lock themselves out")
    user = user or User()
    user.username, user.full_name, user.role = (
        fields.username.strip(),
        fields.full_name.strip(),
        fields.role,
    )
    user.enterprise_id = fields.enterprise_id if fields.role == "hr" else None
    selected = db.session.scalars(select(Zone).where(Zone.id.in_(fields.zone_ids))).all()
    user.zones = list(selected) if fields.role == "inspector" else []
    user.active = fields.active
    if password is not None:
        user.set_password(password)
    db.session.add(user)
    _flush_or_conflict()
    record_audit(
        actor,
        "admin.user_created" if created else "admin.user_updated",
        now=now,
        target_type="user",
        target_id=user.id,
        enterprise_id=user.enterprise_id,
        details={
            "username": user.username,
            "role": user.role,
            "active": user.active,
            "zones": [z.id for z in user.zones],
        },
    )
    return user


def reset_password(actor: User, user: User, password: str, *, now: datetime) -> None:
    user.set_password(password)
    record_audit(actor, "admin.password_reset", now=now, target_type="user", target_id=user.id)
