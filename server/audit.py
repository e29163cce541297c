"""Writing the audit log: who saw, exported or changed which record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from server.extensions import db
from server.models import AuditLog, User


def record_audit(
    actor: User | None,
    action: str,
    *,
    now: datetime,
    target_type: str = "",
    target_id: object = "",
    enterprise_id: int | None = None,
    ip: str = "",
    details: dict[str, Any] | None = None,
) -> AuditLog:
    """Add an audit row to the caller's transaction (the caller commits)."""
    entry = AuditLog(
        at=now,
        user_id=actor.id if actor else None,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        enterprise_id=enterprise_id,
        ip=ip[:64],
        details=details or {},
    )
    db.session.add(entry)
    return entry
