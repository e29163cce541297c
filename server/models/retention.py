"""What purged gate events leave behind: daily counts the by-province reports can still read."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import Model


class DailyGateCount(Model):
    """How many gate events of one kind a local (Asia/Ho_Chi_Minh) day held, once purged.

    Written only by the retention purge, in the transaction that deletes the events it counts,
    so an event is counted here exactly when it is gone from gate_event. Two purges running at
    once may each add a row for one key: readers sum `count` over the key.
    """

    __table_args__ = (
        Index("ix_daily_gate_count_enterprise_day", "enterprise_id", "day"),
        Index("ix_daily_gate_count_province_day", "home_province_code", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate.id"))
    direction: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(10))
    subject_kind: Mapped[str] = mapped_column(String(10))
    # The worker's home province when the events were purged; None for visitors and unknowns.
    home_province_code: Mapped[int | None] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer, default=0)


class PurgedSeqRange(Model):
    """Seqs of a tablet whose events reached the server and were later purged by retention.

    Sync health proves that nothing is missing by counting a tablet's stored seqs; a purged seq
    was received all the same, so it is no gap (see `server.retention.purged_seq_ranges`).
    """

    __table_args__ = (
        Index("ix_purged_seq_range_device_epoch_low", "device_id", "seq_epoch", "low"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    seq_epoch: Mapped[int] = mapped_column(Integer)
    low: Mapped[int] = mapped_column(BigInteger)
    high: Mapped[int] = mapped_column(BigInteger)
