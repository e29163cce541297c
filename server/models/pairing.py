"""HR's word on a pairing flag: a forgotten exit or entry seen and settled, with a note; and the
flags of the closed days, kept so a week of a large site is not paired again on every visit."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import Model
from server.models.types import UTCDateTime


class PairingResolution(Model):
    """A flag HR resolved; the gate event it hangs on is never changed, only pointed at."""

    __table_args__ = (UniqueConstraint("event_id", "flag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    # The resolution goes with its event when retention purges it (no foreign key: see
    # SelfCheckin in server/models/events.py).
    event_id: Mapped[uuid.UUID]
    flag: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(500), default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime)


class PairingDay(Model):
    """The pairing flags, resolved or not, of one closed local day of an enterprise under one
    max stay: derived from the day's events a shift either side, and trusted only while those
    events still count what they counted (server/hr/pairing/services.py says why that does)."""

    enterprise_id: Mapped[int] = mapped_column(
        ForeignKey("enterprise.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(primary_key=True)
    shift_seconds: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    events: Mapped[int] = mapped_column(BigInteger)
    worker_events: Mapped[int] = mapped_column(BigInteger)
    # [flag, worker id, passage, passage of the later entry or null]; a passage is
    # [corrected time (ISO), direction, gate id, event id].
    flags: Mapped[list[list[Any]]] = mapped_column(JSON)
