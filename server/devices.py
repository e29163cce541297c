"""Tablet enrolment codes: one use, 15 minutes, bound to one gate."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from server.extensions import db
from server.models import Device, EnrolmentCode, Gate, User
from server.tokens import ENROLMENT_CODE_LENGTH, ENROLMENT_PREFIX, hash_secret, new_token

ENROLMENT_CODE_LIFETIME = timedelta(minutes=15)


@dataclass(frozen=True)
class IssuedEnrolmentCode:
    code: str
    gate: Gate
    expires_at: datetime

    @property
    def qr_content(self) -> str:
        return ENROLMENT_PREFIX + self.code


def issue_enrolment_code(
    gate: Gate, *, actor: User | None, now: datetime, replaces: Device | None = None
) -> IssuedEnrolmentCode:
    """Create a one-use code for a tablet at `gate`, replacing the tablet `replaces` if given;
    only its hash is stored."""
    code = new_token(ENROLMENT_CODE_LENGTH)
    expires_at = now + ENROLMENT_CODE_LIFETIME
    db.session.add(
        EnrolmentCode(
            enterprise_id=gate.enterprise_id,
            gate_id=gate.id,
            code_hash=hash_secret(code),
            created_by_id=actor.id if actor else None,
            created_at=now,
            expires_at=expires_at,
            replaces_device_id=replaces.id if replaces else None,
        )
    )
    return IssuedEnrolmentCode(code=code, gate=gate, expires_at=expires_at)
