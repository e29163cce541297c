"""The roster change counter that gates pull from, and badge tokens."""

from __future__ import annotations

from sqlalchemy import select, update

from server.extensions import db
from server.models import Enterprise, VisitorPass, Worker
from server.tokens import new_token


def next_roster_version(enterprise_id: int) -> int:
    """Bump and return the enterprise's change counter inside the caller's transaction.

    The UPDATE holds the enterprise row lock until commit, so changes get their numbers in commit
    order and a gate that has read up to N never misses a change later numbered below N.
    """
    return db.session.execute(
        update(Enterprise)
        .where(Enterprise.id == enterprise_id)
        .values(roster_version=Enterprise.roster_version + 1)
        .returning(Enterprise.roster_version)
    ).scalar_one()


def reserve_roster_versions(enterprise_id: int, count: int) -> range:
    """`count` consecutive change numbers in one bump, for changing many rows in one transaction."""
    last = db.session.execute(
        update(Enterprise)
        .where(Enterprise.id == enterprise_id)
        .values(roster_version=Enterprise.roster_version + count)
        .returning(Enterprise.roster_version)
    ).scalar_one()
    return range(last - count + 1, last + 1)


def mark_changed(row: Worker | VisitorPass) -> None:
    """Stamp a changed worker or pass so the next roster pull carries it."""
    row.roster_version = next_roster_version(row.enterprise_id)


def unused_badge_token() -> str:
    while True:
        token = new_token()
        if db.session.scalar(select(Worker.id).where(Worker.badge_token == token)) is None:
            return token
