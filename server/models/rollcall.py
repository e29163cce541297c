"""Evacuation roll calls taken on gate tablets, with who was ticked off at the assembly point."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import Model
from server.models.types import UTCDateTime, utcnow


class RollCall(Model):
    """One roll call as its tablet last sent it; keyed by the UUID the tablet gave it."""

    __table_args__ = (Index("ix_roll_call_enterprise_started", "enterprise_id", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate.id"))
    # The tablet counts its changes; only a higher count replaces what is stored, so a resend
    # or a late, older copy never undoes a tick.
    version: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entries: Mapped[list[RollCallEntry]] = relationship(
        cascade="all, delete-orphan", order_by="RollCallEntry.id"
    )


class RollCallEntry(Model):
    """A person the tablet counted inside when the roll call started, and when they were seen."""

    __table_args__ = (UniqueConstraint("roll_call_id", "person_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roll_call_id: Mapped[int] = mapped_column(ForeignKey("roll_call.id"), index=True)
    # The tablet's key for the person: "w:<worker id>", "b:<badge>", "v:<visitor name>".
    person_key: Mapped[str] = mapped_column(String(220))
    kind: Mapped[str] = mapped_column(String(10))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"))
    name: Mapped[str] = mapped_column(String(200), default="")
    department: Mapped[str] = mapped_column(String(120), default="")
    code: Mapped[str] = mapped_column(String(40), default="")
    ticked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
