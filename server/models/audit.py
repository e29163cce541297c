"""Who saw or changed what: read by inspectors, required by the personal-data rules."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import Model
from server.models.org import User
from server.models.types import UTCDateTime, utcnow


class AuditLog(Model):
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_enterprise_at", "enterprise_id", "at"),
        Index("ix_audit_log_user_at", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(String(60))
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"))
    ip: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    user: Mapped[User | None] = relationship()
