"""Building self check-in bodies as the page sends them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

VIETNAM = timezone(timedelta(hours=7))


def checkin_body(
    person: dict[str, Any],
    *,
    direction: str = "in",
    answers: list[dict[str, Any]] | None = None,
    at: datetime | None = None,
    **overrides: Any,
) -> dict[str, Any]:
    """A check-in of `person` ({"worker": …} or {"visitor": …}) made now on a phone in Vietnam."""
    at = (at or datetime.now(UTC)).astimezone(VIETNAM)
    return {
        **person,
        "id": str(uuid.uuid4()),
        "occurred_at": at.isoformat(),
        "sent_at": datetime.now(UTC).astimezone(VIETNAM).isoformat(),
        "direction": direction,
        "answers": answers if answers is not None else [],
        **overrides,
    }
