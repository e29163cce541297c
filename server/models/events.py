"""What the gates recorded, what they could not, and each push that brought it.

These are the gate records: only the sync engine's store writes them (an import contract in
pyproject.toml keeps the channels away from this module).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import Model
from server.models.checkin import DeclarationQuestion, GatePoster
from server.models.types import UTCDateTime, utcnow

DIRECTIONS = ("in", "out")
# `paper` is the provenance of records backfilled from a gate's paper log after an outage.
METHODS = ("camera", "scanner", "manual", "self", "paper")
SUBJECT_KINDS = ("worker", "visitor", "unresolved")
# The log's rare filters: a page of them walks a partial index of the few matching records, not
# the enterprise's whole log. SQLite uses a partial index only when the query repeats its
# condition word for word, so the log adds these very conditions (server.hr.activity.sql).
RARE_METHODS = ("manual", "self", "paper")
RARE_METHOD_SQL = "method IN ({})".format(", ".join(f"'{method}'" for method in RARE_METHODS))
UNRESOLVED_SQL = "subject_kind = 'unresolved'"
# Received over 5 minutes after it occurred: every choice of the log's delay filter is longer.
LATE_FLOOR_SECONDS = 300
LATE_SQL = {
    "postgresql": "{received} > {occurred} + interval '5 minutes'",
    "sqlite": "{received} > datetime({occurred}, '+5 minutes')",
}

# A record still holding a copy of a visitor's data: the details a tablet sent (JSON null and SQL
# NULL both read 'null'), a name a guard typed for someone off the roster, or a note. Retention
# clears them after the visitors' period; its partial index holds only the records not yet
# cleared, so the daily purge finds them without reading the whole table. The purge repeats
# this condition word for word (server.retention), as both databases need to use the index.
VISITOR_DATA_SQL = (
    "coalesce(CAST(visitor_details AS VARCHAR), 'null') != 'null'"
    " OR (subject_type = 'text' AND subject_kind != 'worker' AND subject_value != '')"
    " OR (subject_kind != 'worker' AND note IS NOT NULL)"
)


def _rare_index(name: str, postgresql: str, sqlite: str) -> Index:
    return Index(
        name,
        "enterprise_id",
        "occurred_at",
        "id",
        postgresql_where=text(postgresql),
        sqlite_where=text(sqlite),
    )


class SyncBatch(Model):
    """One row per push a tablet made, heartbeats included."""

    __table_args__ = (Index("ix_sync_batch_device_received", "device_id", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_batch_id: Mapped[str] = mapped_column(String(64))
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    backlog: Mapped[int] = mapped_column(Integer, default=0)
    oldest_pending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    skew_seconds: Mapped[float | None]
    app_version: Mapped[str] = mapped_column(String(32), default="")
    duration_ms: Mapped[float | None]
    # This push revealed that the tablet's seq restarted (see Device.seq_reset_at).
    seq_reset: Mapped[bool] = mapped_column(default=False)


class GateEvent(Model):
    """One entry or exit, keyed by the UUID the tablet gave it at capture."""

    __table_args__ = (
        # The log walks (enterprise_id, occurred_at, id) in order; the trailing columns let
        # presence and the hourly chart read a day of events from the index alone.
        Index(
            "ix_gate_event_enterprise_occurred",
            "enterprise_id",
            "occurred_at",
            "id",
            "direction",
            "worker_id",
            "visitor_id",
            "gate_id",
            "visitor_pass_id",
        ),
        # Presence, pairing and tracing reason in corrected time (server.presence): the same
        # covering shape, on the time they read.
        Index(
            "ix_gate_event_enterprise_corrected",
            "enterprise_id",
            "corrected_at",
            "id",
            "direction",
            "worker_id",
            "visitor_id",
            "gate_id",
            "visitor_pass_id",
        ),
        # A person's latest record by corrected time, for every worker of a province at once
        # (gone home, presence), is one index probe each, its direction read from the index
        # alone; a person's own page sorts the few records they have.
        Index(
            "ix_gate_event_worker_corrected_direction",
            "worker_id",
            "corrected_at",
            "id",
            "direction",
        ),
        Index("ix_gate_event_visitor_occurred", "visitor_id", "occurred_at"),
        Index("ix_gate_event_device_seq", "device_id", "seq_epoch", "seq"),
        # The purge lets a push go once none of its records is left; without this index each
        # deleted push costs a scan of the whole table (its foreign key, and that check).
        # Batch ids only grow, so new entries land at the index's right edge.
        Index("ix_gate_event_batch", "batch_id"),
        _rare_index("ix_gate_event_rare_method", RARE_METHOD_SQL, RARE_METHOD_SQL),
        _rare_index("ix_gate_event_unresolved", UNRESOLVED_SQL, UNRESOLVED_SQL),
        _rare_index(
            "ix_gate_event_late",
            *(
                LATE_SQL[dialect].format(received="received_at", occurred="occurred_at")
                for dialect in ("postgresql", "sqlite")
            ),
        ),
        Index(
            "ix_gate_event_visitor_data",
            "occurred_at",
            "id",
            postgresql_where=text(VISITOR_DATA_SQL),
            sqlite_where=text(VISITOR_DATA_SQL),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate.id"))
    # Null for self check-ins and paper backfill, which no tablet numbered.
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    seq_epoch: Mapped[int] = mapped_column(Integer, default=0)
    direction: Mapped[str] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(10))
    # What the gate sent (badge / pass / worker / text and its value) is kept as sent; the
    # resolved subject may be filled in later by HR.
    subject_type: Mapped[str] = mapped_column(String(10))
    subject_value: Mapped[str] = mapped_column(String(200))
    subject_kind: Mapped[str] = mapped_column(String(10))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"))
    visitor_id: Mapped[int | None] = mapped_column(ForeignKey("visitor.id"))
    visitor_pass_id: Mapped[int | None] = mapped_column(ForeignKey("visitor_pass.id"))
    visitor_details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(String(500))
    # Device time as sent: the instant in UTC plus the offset the device stated.
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    occurred_offset_minutes: Mapped[int] = mapped_column(Integer)
    corrected_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("sync_batch.id"))
    content_hash: Mapped[str] = mapped_column(String(64))
    # Codes such as clock_skew, inactive_worker, expired_pass: recorded all the same, flagged.
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class PersonLastPassage(Model):
    """Each person's latest event in one enterprise, by (corrected_at, id): kept by every write
    that stores, re-attributes or deletes an event (`server.last_passage`), so "who is inside"
    and "gone home" read one row per person instead of ranking their events.

    Keyed by enterprise and person, so an enterprise's page sees only its own records of a
    worker; one row per event at most (an event is one person's, in one enterprise). No foreign
    key to gate_event: the purge deletes events and recomputes the rows it took.
    """

    __table_args__ = (
        *(
            Index(
                f"uq_person_last_passage_{person.removesuffix('_id')}",
                person,
                "enterprise_id",
                unique=True,
                postgresql_where=text(f"{person} IS NOT NULL"),
                sqlite_where=text(f"{person} IS NOT NULL"),
            )
            for person in ("worker_id", "visitor_id")
        ),
        # The enterprise's people whose latest record falls in a time range (presence, roll call),
        # read from the index alone: on SQLite, presence's counts over 26,000 people on site
        # took 105 ms looking each row up, 54 ms without.
        Index(
            "ix_person_last_passage_enterprise_corrected_covering",
            "enterprise_id",
            "corrected_at",
            "direction",
            "gate_id",
            "worker_id",
            "visitor_id",
            "visitor_pass_id",
        ),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    # Exactly one of the two: a visitor's row is keyed by the visitor only when no worker is named.
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("worker.id"))
    visitor_id: Mapped[int | None] = mapped_column(ForeignKey("visitor.id"))
    visitor_pass_id: Mapped[int | None] = mapped_column(ForeignKey("visitor_pass.id"))
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate.id"))
    direction: Mapped[str] = mapped_column(String(3))
    corrected_at: Mapped[datetime] = mapped_column(UTCDateTime)


class QuarantinedEvent(Model):
    """An event the server could not accept, kept with its raw body and reason for audit."""

    __table_args__ = (
        Index("ix_quarantined_event_enterprise_received", "enterprise_id", "received_at"),
        Index("ix_quarantined_event_device_received", "device_id", "received_at"),
        Index("ix_quarantined_event_batch", "batch_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("sync_batch.id"))
    event_id: Mapped[str | None] = mapped_column(String(64))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(Text, default="")
    raw: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# The rows that hang on a gate event (a self check-in, its answers, a pairing resolution) name it
# without a foreign key. PostgreSQL checks a key referencing gate_event once per deleted event,
# row by row: with three of them the daily purge's deletes took four times as long (5,000
# events: 193 ms, 41 ms without; the 10M bench's purge: 58 s of deletes, then 4 s). Nothing
# else deletes events, and the purge deletes these rows first (server/retention.py), so each
# still has its event while it exists.
class SelfCheckin(Model):
    """What a self check-in adds to its GateEvent: the poster it came through."""

    event_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    poster_id: Mapped[int] = mapped_column(ForeignKey("gate_poster.id"), index=True)

    poster: Mapped[GatePoster] = relationship()
    answers: Mapped[list[DeclarationAnswer]] = relationship(
        primaryjoin="SelfCheckin.event_id == foreign(DeclarationAnswer.event_id)",
        order_by="DeclarationAnswer.id",
        viewonly=True,
    )


class DeclarationAnswer(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    event_id: Mapped[uuid.UUID] = mapped_column(index=True)  # no foreign key: see SelfCheckin
    question_id: Mapped[int] = mapped_column(ForeignKey("declaration_question.id"))
    answer: Mapped[str] = mapped_column(String(200))
    alert: Mapped[bool] = mapped_column(default=False)

    question: Mapped[DeclarationQuestion] = relationship()
