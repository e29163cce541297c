"""A roster file between its dry run and its commit, kept on the server, never in the form."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import Model
from server.models.types import UTCDateTime, utcnow


class RosterImport(Model):
    """The cells of an uploaded roster file, by field and line, as read at the dry run.

    The commit plans again from these cells against the roster as it is then, so what it
    writes is checked inside its own transaction; `key` is the random handle the page holds.
    """

    __table_args__ = (Index("ix_roster_import_enterprise_created", "enterprise_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    filename: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    committed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # [{"line": 5, "cells": {"full_name": "...", "phone": "..."}}, ...]
    rows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # {"columns": {"full_name": "Họ và tên", ...}, "ignored": ["STT", ...], "header_line": 3}
    layout: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
