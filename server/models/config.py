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


class Letterhead(Model):
    """Who issues the board's documents and who signs them (Decree 30/2020's header and
    signature block); one row, set by an administrator."""

    id: Mapped[int] = mapped_column(primary_key=True)
    superior_body: Mapped[str] = mapped_column(String(200), default="")  # "UBND TỈNH BẮC GIANG"
    body: Mapped[str] = mapped_column(String(200), default="")  # "BAN QUẢN LÝ CÁC KHU CÔNG NGHIỆP"
    number_suffix: Mapped[str] = mapped_column(String(60), default="")  # "BQL-LĐ" in "Số: /BQL-LĐ"
    place: Mapped[str] = mapped_column(String(100), default="")  # "Bắc Giang" in "Bắc Giang, ngày…"
    signer_capacity: Mapped[str] = mapped_column(String(100), default="")  # "KT. TRƯỞNG BAN"
    signer_title: Mapped[str] = mapped_column(String(100), default="")  # "PHÓ TRƯỞNG BAN"
    signer_name: Mapped[str] = mapped_column(String(100), default="")
    recipients: Mapped[str] = mapped_column(String(1000), default="")  # one per line
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
