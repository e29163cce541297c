"""Settings administrators may change at run time, overriding the deployment's defaults."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.extensions import Model
from server.models.types import UTCDateTime, utcnow


class ConfigValue(Model):
    """One overridden setting; a key without a row keeps the value from the environment."""

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[float]
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
