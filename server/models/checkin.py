"""Self check-in: the QR posters of each gate and the declaration questions (the check-ins and
their answers are gate records: server/models/events.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.extensions import Model
from server.models.org import Gate
from server.models.types import UTCDateTime, utcnow

QUESTION_KINDS = ("yes_no", "text")
# Which answer flags the event for HR: "any" means any non-empty text answer.
ALERT_RULES = ("", "yes", "no", "any")


class GatePoster(Model):
    """One printed QR poster at one point of a gate; its token is the /c/<token> link.

    The first poster of a gate takes over the gate's foundation `Gate.poster_token`, and
    rotating that poster keeps `Gate.poster_token` equal to it (see server/checkin/services.py).
    """

    __table_args__ = (
        Index("ix_gate_poster_enterprise_gate", "enterprise_id", "gate_id"),
        # Named by hand: the convention's name for it is the one of Gate.poster_token's.
        UniqueConstraint("token", name="uq_gate_poster_token_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    gate_id: Mapped[int] = mapped_column(ForeignKey("gate.id"))
    label: Mapped[str] = mapped_column(String(80))
    token: Mapped[str] = mapped_column(String(40))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Gates where a remote check-in must be impossible: the printed code alone is refused, and a
    # screen at the gate (opened with `screen_key`) shows a code that changes every 30 s.
    on_screen: Mapped[bool] = mapped_column(default=False)
    screen_key: Mapped[str | None] = mapped_column(String(40), unique=True)

    gate: Mapped[Gate] = relationship()


class DeclarationQuestion(Model):
    """One version of a health-declaration question; never edited in place.

    Editing retires the row and adds its successor (`replaces_id`), so an answer always points
    at the exact wording the person saw.
    """

    __table_args__ = (
        Index("ix_declaration_question_enterprise_active", "enterprise_id", "active"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[str] = mapped_column(String(10))
    text_vi: Mapped[str] = mapped_column(String(300))
    text_en: Mapped[str] = mapped_column(String(300), default="")
    alert_on: Mapped[str] = mapped_column(String(3), default="")
    active: Mapped[bool] = mapped_column(default=True)
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("declaration_question.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def alerts(self, answer: str) -> bool:
        if self.alert_on == "any":
            return bool(answer.strip())
        return bool(self.alert_on) and answer == self.alert_on
