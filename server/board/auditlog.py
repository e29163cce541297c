"""Reading the audit log: who saw, exported or changed what, within the reader's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from server.access import scope_clause, scoped
from server.extensions import db
from server.models import AuditLog, Enterprise, User


@dataclass(frozen=True)
class AuditFilters:
    username: str = ""
    action: str = ""
    enterprise_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: list[tuple[AuditLog, str, str]]
    total: int
    actions: list[str]


def _filtered(user: User, filters: AuditFilters):  # type: ignore[no-untyped-def]
    query = (
        scoped(AuditLog, user)
        .outerjoin(User, User.id == AuditLog.user_id)
        .outerjoin(Enterprise, Enterprise.id == AuditLog.enterprise_id)
    )
    if filters.username:
        query = query.where(User.username == filters.username.strip())
    if filters.action:
        query = query.where(AuditLog.action == filters.action)
    if filters.enterprise_id is not None:
        query = query.where(AuditLog.enterprise_id == filters.enterprise_id)
    if filters.start is not None:
        query = query.where(AuditLog.at >= filters.start)
    if filters.end is not None:
        query = query.where(AuditLog.at < filters.end)
    return query


def audit_page(user: User, filters: AuditFilters, *, page: int, per_page: int) -> AuditPage:
    """One page of entries, newest first, with the actions the filter may offer."""
    query = _filtered(user, filters)
    total = db.session.scalar(query.with_only_columns(func.count(AuditLog.id)).order_by(None))
    rows = db.session.execute(
        query.add_columns(User.username, Enterprise.name)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    actions = db.session.scalars(
        select(AuditLog.action)
        .where(scope_clause(AuditLog, user))
        .group_by(AuditLog.action)
        .order_by(AuditLog.action)
    ).all()
    return AuditPage(
        entries=[(entry, username or "", name or "") for entry, username, name in rows],
        total=total or 0,
        actions=list(actions),
    )


def all_entries(user: User, filters: AuditFilters):  # type: ignore[no-untyped-def]
    """Every matching entry for an export, oldest first: time, user, action, target type and id,
    enterprise, IP, details."""
    query = _filtered(user, filters).with_only_columns(
        AuditLog.at,
        User.username,
        AuditLog.action,
        AuditLog.target_type,
        AuditLog.target_id,
        Enterprise.name,
        AuditLog.ip,
        AuditLog.details,
    )
    # Executed now, read lazily as plain rows: a streamed download reads them after the view
    # returned, when no ORM object may be loaded any more.
    return db.session.execute(query.order_by(AuditLog.at, AuditLog.id))
