"""The letterhead of the board's documents: issuing body, number, place and signer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from server.audit import record_audit
from server.extensions import db
from server.models import Letterhead, User

FIELDS = (
    "superior_body",
    "body",
    "number_suffix",
    "place",
    "signer_capacity",
    "signer_title",
    "signer_name",
    "recipients",
)


def current() -> Letterhead:
    """The saved letterhead, or an empty one (not added to the session) before any is saved."""
    saved = db.session.scalar(select(Letterhead).order_by(Letterhead.id).limit(1))
    return saved if saved is not None else Letterhead(**dict.fromkeys(FIELDS, ""))


def save(actor: User, values: dict[str, str], *, now: datetime) -> list[str]:
    """Store the letterhead; return the fields changed (audited)."""
    letterhead = db.session.scalar(select(Letterhead).order_by(Letterhead.id).limit(1))
    if letterhead is None:
        letterhead = Letterhead(**dict.fromkeys(FIELDS, ""))
        db.session.add(letterhead)
    changed = [name for name in FIELDS if getattr(letterhead, name) != values[name]]
    for name in changed:
        setattr(letterhead, name, values[name])
    if changed:
        letterhead.updated_at, letterhead.updated_by_id = now, actor.id
        db.session.flush()
        record_audit(
            actor,
            "letterhead.update",
            now=now,
            target_type="letterhead",
            details={"fields": changed},
        )
    return changed
