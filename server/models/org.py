"""Zones, enterprises, gates, tablets and console users."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates
from werkzeug.security import check_password_hash, generate_password_hash

from server.extensions import Model, db
from server.models.types import UTCDateTime, utcnow
from server.tokens import new_secret
from sync.schemas import ID_CARD_FIELDS

ROLES = ("admin", "inspector", "hr")

user_zone = Table(
    "user_zone",
    db.metadata,
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True),
    Column("zone_id", ForeignKey("zone.id", ondelete="CASCADE"), primary_key=True),
)


class Zone(Model):
    """An industrial or economic zone, overseen by a management board."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    province_code: Mapped[int | None]

    enterprises: Mapped[list[Enterprise]] = relationship(back_populates="zone")


class Enterprise(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    tax_code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    address: Mapped[str] = mapped_column(String(500), default="")
    # Enterprises outside any zone exist and are reported too.
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zone.id"), index=True)
    # The roster change counter: bumped under a row lock on every change of a person or pass,
    # so a cursor never skips a change committed late by a concurrent transaction.
    roster_version: Mapped[int] = mapped_column(BigInteger, default=0)
    # What its gates keep of a visitor's chip ID card besides the name (sync/schemas.py).
    id_card_fields: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(ID_CARD_FIELDS))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    zone: Mapped[Zone | None] = relationship(back_populates="enterprises")
    gates: Mapped[list[Gate]] = relationship(back_populates="enterprise", order_by="Gate.code")


class Gate(Model):
    __table_args__ = (UniqueConstraint("enterprise_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    poster_token: Mapped[str] = mapped_column(String(40), unique=True)
    active: Mapped[bool] = mapped_column(default=True)

    enterprise: Mapped[Enterprise] = relationship(back_populates="gates")


class Device(Model):
    """An enrolled gate tablet; its sync state is what inspectors audit."""

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate.id"))
    label: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The public half (base64url SPKI) of the ECDSA key the tablet made at enrolment and keeps
    # unexportable: it signs the waiting-events file, so the database cannot forge one. None for
    # a tablet enrolled by an app that did not make one: its files are refused.
    public_key: Mapped[str | None] = mapped_column(String(200))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    app_version: Mapped[str] = mapped_column(String(32), default="")
    highest_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    # Incremented when the tablet's seq restarts (storage wiped), so new events are never
    # mistaken for resends of old ones.
    seq_epoch: Mapped[int] = mapped_column(Integer, default=0)
    seq_reset_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    seq_reset_count: Mapped[int] = mapped_column(Integer, default=0)
    seq_before_reset: Mapped[int | None] = mapped_column(BigInteger)
    # Inclusive [first, last] seq ranges below highest_seq never received in this epoch: what the
    # tablet still owes, told back to it in every push answer.
    missing_seq_ranges: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    # How many numbered events of the current epoch are stored now, kept by every write that
    # stores or deletes one: the board proves a tablet whole (this plus its purged seqs reach
    # highest_seq) without counting its events, which grow with the retention window.
    seqs_stored: Mapped[int] = mapped_column(BigInteger, default=0)
    reported_backlog: Mapped[int] = mapped_column(Integer, default=0)
    oldest_pending_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_skew_seconds: Mapped[float | None]

    enterprise: Mapped[Enterprise] = relationship()
    gate: Mapped[Gate] = relationship()


class EnrolmentCode(Model):
    """A one-use code that binds a new tablet to a gate; stored only as a hash."""

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate.id"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))
    # HR's "replace tablet X" code: enrolling with it records X as wiped (PROTOCOL §10).
    replaces_device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))

    gate: Mapped[Gate] = relationship()


class User(UserMixin, Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    full_name: Mapped[str] = mapped_column(String(200), default="")
    role: Mapped[str] = mapped_column(String(20))
    # Set for hr users only; inspectors are scoped by zones instead.
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"), index=True)
    language: Mapped[str] = mapped_column(String(5), default="vi")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What a session cookie carries instead of the id (Flask-Login's alternative id): replacing
    # it ends every session of the user at once, whichever browser holds the cookie.
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_secret)

    enterprise: Mapped[Enterprise | None] = relationship()
    zones: Mapped[list[Zone]] = relationship(secondary=user_zone, order_by=Zone.name)

    @property
    def is_active(self) -> bool:  # Flask-Login refuses sessions of inactive users
        return self.active

    def get_id(self) -> str:
        return self.session_token

    def end_sessions(self) -> None:
        """Sign the user out everywhere: every session cookie issued so far stops working."""
        self.session_token = new_secret()

    @validates("active")
    def _deactivation_ends_sessions(self, _key: str, active: bool) -> bool:
        if not active:
            self.end_sessions()
        return active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)
        self.end_sessions()

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)
