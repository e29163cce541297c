"""The people a gate records: the enterprise's workers and its visitors."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import Model
from server.models.types import UTCDateTime, utcnow


class Worker(Model):
    __table_args__ = (
        UniqueConstraint("enterprise_id", "employee_code"),
        Index("ix_worker_enterprise_roster_version", "enterprise_id", "roster_version"),
        Index("ix_worker_enterprise_search_name", "enterprise_id", "search_name"),
        # Contact tracing walks it to rank by name the people tied for the longest overlap. On
        # PostgreSQL in the order of Python's texts (and SQLite's), the one it sorts by.
        Index(
            "ix_worker_enterprise_name",
            "enterprise_id",
            "full_name",
            "id",
            postgresql_ops={"full_name": 'COLLATE "C"'},
        ),
        # Holds all the province report reads of a worker, in the order it counts them: the
        # report reads this index alone, not 200,000 wide rows.
        Index(
            "ix_worker_enterprise_home_province",
            "enterprise_id",
            "active",
            "home_province_code",
            "home_province_raw",
            "sex",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    employee_code: Mapped[str] = mapped_column(String(40))
    full_name: Mapped[str] = mapped_column(String(200))
    # Lower-case, diacritics removed, "đ" as "d": what diacritic-insensitive search matches.
    search_name: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str | None] = mapped_column(String(20))
    national_id: Mapped[str | None] = mapped_column(String(20))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    # Many rosters give only the year of birth; kept from a full date too.
    birth_year: Mapped[int | None]
    sex: Mapped[str] = mapped_column(String(1), default="")  # "M", "F" or "" when not given
    # Code of one of the 34 provinces in force since 1 July 2025; the text as imported is kept.
    home_province_code: Mapped[int | None] = mapped_column(index=True)
    home_province_raw: Mapped[str] = mapped_column(String(200), default="")
    permanent_address: Mapped[str] = mapped_column(String(500), default="")
    current_address: Mapped[str] = mapped_column(String(500), default="")
    department: Mapped[str] = mapped_column(String(120), default="")
    badge_token: Mapped[str | None] = mapped_column(String(40), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    roster_version: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Visitor(Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    # Only the last digits of an ID card: enough to tell two visitors apart, little to leak.
    id_number_last4: Mapped[str | None] = mapped_column(String(4))
    home_province_code: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VisitorPass(Model):
    __table_args__ = (
        Index("ix_visitor_pass_enterprise_roster_version", "enterprise_id", "roster_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    visitor_id: Mapped[int] = mapped_column(ForeignKey("visitor.id"), index=True)
    token: Mapped[str] = mapped_column(String(40), unique=True)
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime)
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime)
    purpose: Mapped[str] = mapped_column(String(300), default="")
    host: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(default=True)
    roster_version: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    visitor: Mapped[Visitor] = relationship()
