"""What the QR codes of printed badges and visitor passes hold."""

from __future__ import annotations

from server.tokens import BADGE_PREFIX, PASS_PREFIX


def badge_content(token: str) -> str:
    return BADGE_PREFIX + token


def pass_content(token: str) -> str:
    return PASS_PREFIX + token
