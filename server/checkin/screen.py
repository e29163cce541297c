"""Check-in only at the gate: a code on a screen there that changes every 30 seconds.

The screen's QR holds the poster's link plus a code derived from the app's secret, the poster and
the current 30-second window. A page opened with a current code gets a presence pass, signed and
time-stamped by the server; the page's calls must carry it, and the check-in must have been made
within PRESENCE_MINUTES of it, so a check-in queued offline at the gate still counts, while a
photo of the screen is worthless a minute later.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer

from server.models import GatePoster

WINDOW_SECONDS = 30
PRESENCE_MINUTES = 10
_SALT = "gatelog-self-presence"


def window_of(now: datetime) -> int:
    return int(now.timestamp()) // WINDOW_SECONDS


def seconds_left(now: datetime) -> float:
    return WINDOW_SECONDS - now.timestamp() % WINDOW_SECONDS


def code_for(secret: str, poster: GatePoster, window: int) -> str:
    digest = hmac.new(
        secret.encode(), f"{poster.id}:{poster.token}:{window}".encode(), hashlib.sha256
    ).digest()
    return base64.b32encode(digest)[:10].decode()


def code_is_current(secret: str, poster: GatePoster, code: str | None, now: datetime) -> bool:
    """The code of this window or the previous one (the time it takes to scan)."""
    if not code:
        return False
    window = window_of(now)
    return any(
        hmac.compare_digest(code.upper().encode(), code_for(secret, poster, w).encode())
        for w in (window, window - 1)
    )


def presence_pass(secret: str, poster: GatePoster) -> str:
    return URLSafeTimedSerializer(secret, salt=_SALT).dumps(poster.token)


def presence_issued_at(secret: str, poster: GatePoster, token: str | None) -> datetime | None:
    """When the server issued this pass for this poster's current code; None if it did not."""
    if not token:
        return None
    try:
        value, issued = URLSafeTimedSerializer(secret, salt=_SALT).loads(
            token, return_timestamp=True
        )
    except BadSignature:
        return None
    if not isinstance(value, str) or not hmac.compare_digest(value, poster.token):
        return None
    return issued.astimezone(UTC)


def present_then(issued: datetime | None, at: datetime, now: datetime) -> bool:
    """Whether a pass issued at `issued` covers something done at `at`."""
    if issued is None or issued > now:
        return False
    return issued - timedelta(minutes=1) <= at <= issued + timedelta(minutes=PRESENCE_MINUTES)
