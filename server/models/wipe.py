"""A tablet's storage was wiped: what may have been lost, as the tablet and the server knew it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import Model
from server.models.org import Device
from server.models.types import UTCDateTime, utcnow


class DeviceWipe(Model):
    """One report of a wiped tablet (sync/PROTOCOL.md §10), by the tablet itself or its replacement.

    The server's side is copied from the wiped device at report time, so the loss stays stated
    even after later pushes move the device row on.
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    reported_by_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    detected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the tablet's surviving storage said (null when nothing survived).
    tablet_waiting: Mapped[int | None]
    tablet_last_seq: Mapped[int | None] = mapped_column(BigInteger)
    tablet_counted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tablet_oldest_pending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the server last heard from the wiped tablet.
    server_highest_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    server_backlog: Mapped[int] = mapped_column(default=0)
    server_oldest_pending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    server_last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    device: Mapped[Device] = relationship(foreign_keys=[device_id])

    @property
    def lost_at_most(self) -> int:
        """How many records may be gone: the larger of every count either side knew."""
        numbered = (self.tablet_last_seq or 0) - self.server_highest_seq
        return max(self.tablet_waiting or 0, numbered, self.server_backlog, 0)

    @property
    def last_known_at(self) -> datetime | None:
        """When what was at risk was last counted: by the tablet, else by its last push."""
        return self.tablet_counted_at or self.server_last_sync_at
