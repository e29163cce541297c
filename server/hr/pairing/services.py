"""The pairing flags of an enterprise's workers, found by server/board/intervals.py's rules,
and HR's resolutions of them. A resolution is a note beside a gate event, never a new one."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.access import scoped
from server.audit import record_audit
from server.clock import local_day_bounds
from server.extensions import db
from server.hr.activity.services import events_of
from server.models import GateEvent, PairingResolution, User, Worker
from server.presence import (
    ENTRY_MISSING,
    EXIT_MISSING,
    SECOND_ENTRY,
    Anomaly,
    Passage,
    anomalies,
    gate_labels,
    passage,
)

FLAGS = (EXIT_MISSING, SECOND_ENTRY, ENTRY_MISSING)
FLAG_LABELS = {
    EXIT_MISSING: _l("No exit recorded within the maximum stay"),
    SECOND_ENTRY: _l("Entered again without an exit"),
    ENTRY_MISSING: _l("Exit without a recorded entry"),
}
# A month of flags is what HR settles in one sitting; longer ranges are a report, not a worklist.
MAX_DAYS = 31


class PairingError(Exception):
    """A resolution the service refuses, with a message for the user."""


@dataclass(frozen=True)
class Passed:
    """One gate event a flag names, as the page shows it."""

    event_id: uuid.UUID
    direction: str
    at: datetime
    gate: str


@dataclass(frozen=True)
class Flag:
    flag: str
    worker_id: int
    name: str
    code: str
    event: Passed
    followed_by: Passed | None
    resolution: PairingResolution | None
    resolved_by: str


def _found(
    user: User,
    start: datetime,
    end: datetime,
    *,
    shift: timedelta,
    now: datetime,
    worker_id: int | None = None,
) -> list[tuple[int, Anomaly]]:
    """(worker id, anomaly) for every flag whose event lies in [start, end).

    Events a shift either side are read too, so a night shift or an entry just before the
    window still pairs; nothing further can pair with an event inside it.
    """
    query = select(
        GateEvent.id,
        GateEvent.worker_id,
        GateEvent.corrected_at,
        GateEvent.direction,
        GateEvent.gate_id,
    ).where(
        events_of(user),
        GateEvent.corrected_at >= start - shift,
        GateEvent.corrected_at < end + shift,
    )
    if worker_id is None:
        query = query.where(GateEvent.worker_id.is_not(None))
    else:
        query = query.where(GateEvent.worker_id == worker_id)
    by_worker: dict[int, list[Passage]] = defaultdict(list)
    for row in db.session.execute(query):
        by_worker[row.worker_id].append(passage(row))
    return [
        (person, anomaly)
        for person, passages in by_worker.items()
        for anomaly in anomalies(passages, shift=shift, now=now)
        if start <= anomaly.passage.at < end
    ]


def _passed(passage: Passage, gates: dict[int, str]) -> Passed:
    return Passed(
        uuid.UUID(passage.event_id), passage.direction, passage.at, gates.get(int(passage.gate), "")
    )


def pairing_flags(
    user: User,
    *,
    day_from: date,
    day_to: date,
    timezone: str,
    shift: timedelta,
    now: datetime,
    include_resolved: bool = False,
) -> list[Flag]:
    """The flags of the user's workers on the local days from `day_from` to `day_to`, newest
    first; resolved ones only when asked for."""
    start, end = local_day_bounds(day_from, timezone)[0], local_day_bounds(day_to, timezone)[1]
    found = _found(user, start, end, shift=shift, now=now)
    resolutions = {
        (resolution.event_id, resolution.flag): (resolution, resolver)
        for resolution, resolver in db.session.execute(
            scoped(PairingResolution, user)
            .join(GateEvent, GateEvent.id == PairingResolution.event_id)
            .outerjoin(User, User.id == PairingResolution.resolved_by_id)
            .add_columns(User.username)
            .where(GateEvent.corrected_at >= start, GateEvent.corrected_at < end)
        )
    }
    if not include_resolved:
        found = [
            (person, anomaly)
            for person, anomaly in found
            if (uuid.UUID(anomaly.passage.event_id), anomaly.flag) not in resolutions
        ]
    workers = _workers(user, {person for person, _anomaly in found})
    gates = gate_labels(user)
    flags = []
    for person, anomaly in found:
        event = _passed(anomaly.passage, gates)
        resolution, resolver = resolutions.get((event.event_id, anomaly.flag), (None, ""))
        worker = workers[person]
        flags.append(
            Flag(
                flag=anomaly.flag,
                worker_id=person,
                name=worker.full_name,
                code=worker.employee_code,
                event=event,
                followed_by=_passed(anomaly.followed_by, gates) if anomaly.followed_by else None,
                resolution=resolution,
                resolved_by=resolver or "",
            )
        )
    flags.sort(key=lambda f: (-f.event.at.timestamp(), f.name))
    return flags


def _workers(user: User, ids: Iterable[int]) -> dict[int, Worker]:
    return {
        worker.id: worker
        for worker in db.session.scalars(scoped(Worker, user).where(Worker.id.in_(list(ids))))
    }


def resolve_flag(
    user: User,
    event: GateEvent,
    flag: str,
    note: str,
    *,
    shift: timedelta,
    now: datetime,
    ip: str = "",
) -> PairingResolution:
    """Mark `flag` on `event` as settled by `user`; the event itself stays as the gate sent it."""
    if event.worker_id is None or not any(
        anomaly.flag == flag and anomaly.passage.event_id == str(event.id)
        for _person, anomaly in _found(
            user,
            event.corrected_at,
            event.corrected_at + timedelta(microseconds=1),
            shift=shift,
            now=now,
            worker_id=event.worker_id,
        )
    ):
        raise PairingError(_l("This record carries no such flag any more."))
    resolution = PairingResolution(
        enterprise_id=event.enterprise_id,
        event_id=event.id,
        flag=flag,
        note=note.strip(),
        resolved_by_id=user.id,
        resolved_at=now,
    )
    try:
        # A savepoint: a second resolution of the flag is refused without undoing the unit.
        with db.session.begin_nested():
            db.session.add(resolution)
    except IntegrityError as error:
        raise PairingError(_l("This flag is already resolved.")) from error
    record_audit(
        user,
        "pairing_flag.resolved",
        now=now,
        target_type="gate_event",
        target_id=event.id,
        enterprise_id=event.enterprise_id,
        ip=ip,
        details={"flag": flag, "note": resolution.note},
    )
    return resolution


def reopen_flag(user: User, event: GateEvent, flag: str, *, now: datetime, ip: str = "") -> None:
    """Take back a resolution made in error: the flag is open again, the audit log keeps both."""
    resolution = db.session.scalar(
        select(PairingResolution).where(
            PairingResolution.event_id == event.id, PairingResolution.flag == flag
        )
    )
    if resolution is None:
        raise PairingError(_l("This flag is not resolved."))
    record_audit(
        user,
        "pairing_flag.reopened",
        now=now,
        target_type="gate_event",
        target_id=event.id,
        enterprise_id=event.enterprise_id,
        ip=ip,
        details={
            "flag": flag,
            "note": resolution.note,
            "resolved_by_id": resolution.resolved_by_id,
            "resolved_at": resolution.resolved_at.isoformat(),
        },
    )
    db.session.delete(resolution)
