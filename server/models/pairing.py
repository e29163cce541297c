"""HR's word on a pairing flag: a forgotten exit or entry seen and settled, with a note."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import Model
from server.models.types import UTCDateTime


class PairingResolution(Model):
    """A flag HR resolved; the gate event it hangs on is never changed, only pointed at."""

    __table_args__ = (UniqueConstraint("event_id", "flag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    # The resolution goes with its event when retention purges it.
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("gate_event.id", ondelete="CASCADE"))
    flag: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(500), default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime)
