"""Random tokens printed as QR codes, and the hashes that stand in for secrets at rest."""

from __future__ import annotations

import hashlib
import secrets

BASE32_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
BADGE_TOKEN_LENGTH = 20  # 100 bits: unguessable, still short enough for a dense-free QR
ENROLMENT_CODE_LENGTH = 10  # one use within 15 minutes, so 50 bits suffice

BADGE_PREFIX = "GL1:W:"
PASS_PREFIX = "GL1:V:"  # noqa: S105 - a QR prefix, not a password
ENROLMENT_PREFIX = "GL1:E:"


def new_token(length: int = BADGE_TOKEN_LENGTH) -> str:
    return "".join(secrets.choice(BASE32_ALPHABET) for _ in range(length))


def new_secret() -> str:
    """A bearer secret for a device: shown once, stored only as its hash."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    # The secrets hashed here are long and random, so a fast hash does not weaken them.
    return hashlib.sha256(secret.encode()).hexdigest()
