"""What the board sends to other provinces' labour departments."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import Model
from server.models.types import UTCDateTime


class SentList(Model):
    """A list of workers the board sent to a province's labour department.

    Decree 13/2023 asks for a record of each transfer of personal data: to whom, when, how
    many people, by whom. The ids of the workers on it let the board say what changed since.
    """

    __table_args__ = (Index("ix_sent_list_province_sent_at", "province_code", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    province_code: Mapped[int] = mapped_column(Integer)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zone.id"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"))
    recipient: Mapped[str] = mapped_column(String(200))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    rows: Mapped[int] = mapped_column(Integer)
    worker_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
