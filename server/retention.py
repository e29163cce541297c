"""Retention: what the administrator's periods let go, purged in bounded chunks and audited.

The personal-data rules (Decree 13/2023/ND-CP) require keeping records only as long as their
purpose needs. Four categories have a period each; declaration answers are health data about a
person seen at the gate, so they follow the visitors' (shorter) period, not the gate records'.
An evacuation roll call is a record of who was inside, so it follows the gate records' period;
the visitors named in it lose their names with the visitors' period, like the visitors themselves.

Every step works in chunks of at most `chunk_size` rows, each its own unit of work that the
caller commits (the CLI command, through `end_of_chunk`), so a purge never loads a table and a
purge cut short resumes where it stopped on its next run. Deletions respect the foreign keys:
declaration answers and self check-ins before their gate events, gate events before the sync
batches and quarantined events they point at. A gate event is counted
into `DailyGateCount` in the transaction that deletes it, from the rows the DELETE returned, so
two purges running at once never count one event twice.
"""

from __future__ import annotations

import uuid
from collections import Counter, deque
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    CursorResult,
    Delete,
    TextClause,
    and_,
    bindparam,
    case,
    delete,
    exists,
    func,
    insert,
    null,
    or_,
    select,
    text,
    update,
)

from server import last_passage
from server.admin.config import Thresholds
from server.audit import record_audit
from server.database import among
from server.extensions import db
from server.models import (
    AuditLog,
    DailyGateCount,
    DeclarationAnswer,
    Device,
    Enterprise,
    GateEvent,
    PairingDay,
    PairingResolution,
    PurgedSeqRange,
    QuarantinedEvent,
    RollCall,
    RollCallEntry,
    SelfCheckin,
    SyncBatch,
    User,
    Visitor,
    VisitorPass,
    Worker,
)
from server.models.events import VISITOR_DATA_SQL
from server.roster import reserve_roster_versions

# A day of a province is about 330,000 gate records: chunks of 1,000 spent most of the purge on
# each chunk's fixed round trips (2m55s for one day at 1M events, 1m54s with 5,000).
CHUNK_SIZE = 5000
CATEGORIES = ("declarations", "visitors", "events", "audit")

_DayKey = tuple[date, int, int, str, str, str, int | None]


@dataclass(frozen=True)
class Policy:
    """Retention periods in days, one per category."""

    event_days: float
    visitor_days: float
    declaration_days: float
    audit_days: float

    @classmethod
    def from_thresholds(cls, thresholds: Thresholds) -> Policy:
        return cls(
            event_days=thresholds.event_retention_days,
            visitor_days=thresholds.visitor_retention_days,
            declaration_days=thresholds.visitor_retention_days,
            audit_days=thresholds.audit_retention_days,
        )

    def days(self, category: str) -> float:
        return {
            "declarations": self.declaration_days,
            "visitors": self.visitor_days,
            "events": self.event_days,
            "audit": self.audit_days,
        }[category]


@dataclass
class CategoryOutcome:
    """What one category lets go: rows older than `cutoff`, counted by kind."""

    category: str
    days: float
    cutoff: datetime
    counts: dict[str, int] = field(default_factory=dict)

    def as_details(self) -> dict[str, Any]:
        return {"days": self.days, "cutoff": self.cutoff.isoformat(), **self.counts}


def cutoffs(now: datetime, policy: Policy) -> dict[str, datetime]:
    return {name: now - timedelta(days=policy.days(name)) for name in CATEGORIES}


def plan_purge(now: datetime, policy: Policy) -> list[CategoryOutcome]:
    """What `purge` would do now, counted without changing anything."""
    limits = cutoffs(now, policy)
    outcomes = [CategoryOutcome(name, policy.days(name), limits[name]) for name in CATEGORIES]
    declarations, visitors, events, audit = outcomes
    declarations.counts["declaration_answers"] = _count(
        select(func.count(DeclarationAnswer.id)).where(_answer_is_old(declarations.cutoff))
    )
    visitors.counts["visitors_anonymised"] = _count(
        select(func.count(Visitor.id)).where(*_visitor_is_stale(visitors.cutoff))
    )
    visitors.counts["event_details_cleared"] = _count(
        select(func.count(GateEvent.id)).where(*_details_are_old(visitors.cutoff))
    )
    visitors.counts["quarantined_input_cleared"] = _count(
        select(func.count(QuarantinedEvent.id)).where(*_raw_input_is_old(visitors.cutoff))
    )
    old_event = GateEvent.occurred_at < events.cutoff
    events.counts["gate_events"] = _count(select(func.count(GateEvent.id)).where(old_event))
    events.counts["self_checkins"] = _count(
        select(func.count(SelfCheckin.event_id))
        .join(GateEvent, GateEvent.id == SelfCheckin.event_id)
        .where(old_event)
    )
    # Answers of old events go with them, unless the declarations step already took them.
    events.counts["declaration_answers"] = _count(
        select(func.count(DeclarationAnswer.id))
        .join(GateEvent, GateEvent.id == DeclarationAnswer.event_id)
        .where(old_event, GateEvent.occurred_at >= declarations.cutoff)
    )
    events.counts["quarantined_events"] = _count(
        select(func.count(QuarantinedEvent.id)).where(QuarantinedEvent.received_at < events.cutoff)
    )
    events.counts["sync_batches"] = _count(
        select(func.count(SyncBatch.id)).where(*_batch_is_spent(events.cutoff))
    )
    visitors.counts["roll_call_visitors_cleared"] = _count(
        select(func.count(RollCallEntry.id)).where(_roll_call_visitor_is_old(visitors.cutoff))
    )
    events.counts["roll_calls"] = _count(
        select(func.count(RollCall.id)).where(RollCall.started_at < events.cutoff)
    )
    audit.counts["audit_rows"] = _count(
        select(func.count(AuditLog.id)).where(AuditLog.at < audit.cutoff)
    )
    db.session.rollback()
    return outcomes


def purge(
    now: datetime,
    policy: Policy,
    *,
    timezone: str,
    actor: User | None = None,
    chunk_size: int = CHUNK_SIZE,
    end_of_chunk: Callable[[], None] = lambda: None,
) -> list[CategoryOutcome]:
    """Purge what the periods let go, category by category, and audit the counts.

    Each chunk is a unit of work that `end_of_chunk` ends (the CLI commits there, so a purge
    of millions of rows never holds one huge transaction); the audit row ends the last unit.
    """
    limits = cutoffs(now, policy)
    in_chunks = partial(_in_chunks, end_of_chunk=end_of_chunk)
    outcomes = [CategoryOutcome(name, policy.days(name), limits[name]) for name in CATEGORIES]
    declarations, visitors, events, audit = outcomes
    declarations.counts["declaration_answers"] = in_chunks(
        lambda: _delete_old_answers(declarations.cutoff, chunk_size)
    )
    visitors.counts["visitors_anonymised"] = in_chunks(
        lambda: _anonymise_visitors(visitors.cutoff, chunk_size)
    )
    visitors.counts["event_details_cleared"] = in_chunks(
        lambda: _clear_event_details(visitors.cutoff, chunk_size)
    )
    visitors.counts["quarantined_input_cleared"] = in_chunks(
        lambda: _clear_quarantined_input(visitors.cutoff, chunk_size)
    )
    events.counts.update(_purge_events(events.cutoff, ZoneInfo(timezone), chunk_size, end_of_chunk))
    events.counts["quarantined_events"] = in_chunks(
        lambda: _delete_chunk(
            QuarantinedEvent.id, QuarantinedEvent.received_at < events.cutoff, chunk_size
        )
    )
    events.counts["sync_batches"] = in_chunks(
        lambda: _delete_chunk(SyncBatch.id, _batch_is_spent(events.cutoff), chunk_size)
    )
    visitors.counts["roll_call_visitors_cleared"] = in_chunks(
        lambda: _clear_roll_call_visitors(visitors.cutoff, chunk_size)
    )
    events.counts["roll_calls"] = in_chunks(lambda: _delete_roll_calls(events.cutoff, chunk_size))
    audit.counts["audit_rows"] = in_chunks(
        lambda: _delete_chunk(AuditLog.id, AuditLog.at < audit.cutoff, chunk_size)
    )
    record_audit(
        actor,
        "retention.purge",
        now=now,
        target_type="retention",
        details={outcome.category: outcome.as_details() for outcome in outcomes},
    )
    return outcomes


def _count(query: Any) -> int:
    return db.session.scalar(query) or 0


def _in_chunks(step: Callable[[], int], end_of_chunk: Callable[[], None]) -> int:
    """Run `step` (one chunk, returning its row count) until a chunk finds nothing."""
    total = 0
    while done := step():
        end_of_chunk()
        total += done
    return total


def _next_chunk(key: Any, criteria: Any, chunk_size: int) -> list[Any]:
    """The first `chunk_size` keys matching `criteria`."""
    criteria = criteria if isinstance(criteria, list | tuple) else [criteria]
    return list(db.session.scalars(select(key).where(*criteria).order_by(key).limit(chunk_size)))


def _delete_chunk(key: Any, criteria: Any, chunk_size: int) -> int:
    if not (ids := _next_chunk(key, criteria, chunk_size)):
        return 0
    _rows_deleted(delete(key.class_).where(_among(key, ids)))
    return len(ids)


def _answer_is_old(cutoff: datetime) -> ColumnElement[bool]:
    return DeclarationAnswer.event_id.in_(
        select(GateEvent.id).where(GateEvent.occurred_at < cutoff)
    )


def _delete_old_answers(cutoff: datetime, chunk_size: int) -> int:
    return _delete_chunk(DeclarationAnswer.id, _answer_is_old(cutoff), chunk_size)


def _visitor_is_stale(cutoff: datetime) -> list[ColumnElement[bool]]:
    """A visitor not yet anonymised whose passes and visits all ended before `cutoff`."""
    return [
        Visitor.created_at < cutoff,
        ~exists().where(VisitorPass.visitor_id == Visitor.id, VisitorPass.valid_until >= cutoff),
        ~exists().where(GateEvent.visitor_id == Visitor.id, GateEvent.occurred_at >= cutoff),
        or_(
            Visitor.full_name != "",
            Visitor.phone.is_not(None),
            Visitor.organisation != "",
            Visitor.id_number_last4.is_not(None),
        ),
    ]


def _anonymise_visitors(cutoff: datetime, chunk_size: int) -> int:
    """Blank the details of stale visitors; the rows stay, events and passes point at them."""
    if not (ids := _next_chunk(Visitor.id, _visitor_is_stale(cutoff), chunk_size)):
        return 0
    db.session.execute(
        update(Visitor)
        .where(Visitor.id.in_(ids))
        .values(full_name="", phone=None, organisation="", id_number_last4=None)
    )
    # A tablet still holding one of their passes must hear of the blank name on its next pull.
    passes = db.session.execute(
        select(VisitorPass.id, VisitorPass.enterprise_id)
        .where(VisitorPass.visitor_id.in_(ids))
        .order_by(VisitorPass.enterprise_id, VisitorPass.id)
    ).all()
    by_enterprise: dict[int, list[int]] = {}
    for pass_id, enterprise_id in passes:
        by_enterprise.setdefault(enterprise_id, []).append(pass_id)
    for enterprise_id, pass_ids in by_enterprise.items():
        versions = reserve_roster_versions(enterprise_id, len(pass_ids))
        db.session.execute(
            update(VisitorPass),
            [
                {"id": pass_id, "roster_version": version}
                for pass_id, version in zip(pass_ids, versions, strict=True)
            ],
        )
    return len(ids)


def _not_a_worker() -> ColumnElement[bool]:
    return GateEvent.subject_kind != "worker"


def _typed_name() -> ColumnElement[bool]:
    # A name the guard typed for someone who is not on the roster: the visitor's own data.
    return and_(GateEvent.subject_type == "text", _not_a_worker(), GateEvent.subject_value != "")


def _details_are_old(cutoff: datetime) -> list[ColumnElement[bool] | TextClause]:
    """An event older than the visitors' period still holding a copy of a visitor's data."""
    # Word for word the partial index's condition, so each chunk reads only that index.
    return [GateEvent.occurred_at < cutoff, text(f"({VISITOR_DATA_SQL})")]


def _clear_event_details(cutoff: datetime, chunk_size: int) -> int:
    ids = list(
        db.session.scalars(select(GateEvent.id).where(*_details_are_old(cutoff)).limit(chunk_size))
    )
    if not ids:
        return 0
    # The stored content hash is kept, so a late resend of the event is still acked duplicate.
    # A worker's typed name and notes follow the gate records' period instead.
    db.session.execute(
        update(GateEvent)
        .where(GateEvent.id.in_(ids))
        .values(
            visitor_details=null(),
            subject_value=case((_typed_name(), ""), else_=GateEvent.subject_value),
            note=case((_not_a_worker(), null()), else_=GateEvent.note),
        )
    )
    return len(ids)


def _raw_input_is_old(cutoff: datetime) -> list[ColumnElement[bool]]:
    return [QuarantinedEvent.received_at < cutoff, QuarantinedEvent.raw != ""]


def _clear_quarantined_input(cutoff: datetime, chunk_size: int) -> int:
    """Refused input as sent may name a visitor: its text goes with the visitors' period; the
    row (reason, device, batch) stays for the gate records' period."""
    if not (ids := _next_chunk(QuarantinedEvent.id, _raw_input_is_old(cutoff), chunk_size)):
        return 0
    db.session.execute(update(QuarantinedEvent).where(QuarantinedEvent.id.in_(ids)).values(raw=""))
    return len(ids)


def _batch_is_spent(cutoff: datetime) -> list[ColumnElement[bool]]:
    """An old push whose events and quarantined events are all past the cutoff."""
    return [
        SyncBatch.received_at < cutoff,
        ~exists().where(GateEvent.batch_id == SyncBatch.id, GateEvent.occurred_at >= cutoff),
        ~exists().where(
            QuarantinedEvent.batch_id == SyncBatch.id, QuarantinedEvent.received_at >= cutoff
        ),
    ]


def _roll_call_visitor_is_old(cutoff: datetime) -> ColumnElement[bool]:
    """A visitor named in a roll call started before `cutoff`, not yet cleared."""
    return RollCallEntry.id.in_(
        select(RollCallEntry.id)
        .join(RollCall, RollCall.id == RollCallEntry.roll_call_id)
        .where(
            RollCall.started_at < cutoff,
            RollCallEntry.kind == "visitor",
            or_(RollCallEntry.name != "", RollCallEntry.code != "", RollCallEntry.department != ""),
        )
    )


def _clear_roll_call_visitors(cutoff: datetime, chunk_size: int) -> int:
    """Blank the visitors of old roll calls; the rows stay, so the roll call's counts hold."""
    if not (ids := _next_chunk(RollCallEntry.id, _roll_call_visitor_is_old(cutoff), chunk_size)):
        return 0
    # The tablet keyed a visitor by name: the key must go too, and stay unique in its roll call.
    db.session.execute(
        update(RollCallEntry),
        [
            {
                "id": entry_id,
                "person_key": f"v:#{entry_id}",
                "name": "",
                "code": "",
                "department": "",
            }
            for entry_id in ids
        ],
    )
    return len(ids)


def _delete_roll_calls(cutoff: datetime, chunk_size: int) -> int:
    if not (ids := _next_chunk(RollCall.id, RollCall.started_at < cutoff, chunk_size)):
        return 0
    db.session.execute(delete(RollCallEntry).where(RollCallEntry.roll_call_id.in_(ids)))
    db.session.execute(delete(RollCall).where(RollCall.id.in_(ids)))
    return len(ids)


def _purge_events(
    cutoff: datetime, zone: ZoneInfo, chunk_size: int, end_of_chunk: Callable[[], None]
) -> dict[str, int]:
    counts: Counter[str] = Counter(gate_events=0, self_checkins=0, declaration_answers=0)
    # Enterprise by enterprise, so each read is served by the (enterprise, occurred_at) index;
    # a chunk gathers several small enterprises, since each chunk's writes and commit cost the
    # same for a few rows as for thousands.
    pending = deque(db.session.scalars(select(Enterprise.id).order_by(Enterprise.id)))
    while pending:
        ids: list[uuid.UUID] = []
        while pending and len(ids) < chunk_size:
            wanted = chunk_size - len(ids)
            found = list(
                db.session.scalars(
                    select(GateEvent.id)
                    .where(GateEvent.enterprise_id == pending[0], GateEvent.occurred_at < cutoff)
                    .order_by(GateEvent.occurred_at, GateEvent.id)
                    .limit(wanted)
                )
            )
            ids += found
            if len(found) < wanted:
                pending.popleft()
        if ids:
            counts.update(_delete_events(ids, zone))
            end_of_chunk()
    return dict(counts)


def _delete_events(ids: list[uuid.UUID], zone: ZoneInfo) -> dict[str, int]:
    answers = _rows_deleted(
        delete(DeclarationAnswer).where(_among(DeclarationAnswer.event_id, ids))
    )
    checkins = _rows_deleted(delete(SelfCheckin).where(_among(SelfCheckin.event_id, ids)))
    _rows_deleted(delete(PairingResolution).where(_among(PairingResolution.event_id, ids)))
    # On the table, not the entity: the ORM would build and match an object per returned row.
    events = GateEvent.__table__
    gone = db.session.execute(
        delete(events)
        .where(_among(events.c.id, ids))
        .returning(
            events.c.occurred_at,
            events.c.corrected_at,
            events.c.enterprise_id,
            events.c.gate_id,
            events.c.direction,
            events.c.method,
            events.c.subject_kind,
            events.c.worker_id,
            events.c.device_id,
            events.c.seq_epoch,
            events.c.seq,
        )
    ).all()
    last_passage.recount_deleted(db.session.connection(), ids)
    _add_daily_counts(gone, zone)
    _add_purged_seqs(gone)
    _forget_pairing_days(gone, zone)
    return {"gate_events": len(gone), "self_checkins": checkins, "declaration_answers": answers}


def _among(column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    return among(column, values, db.session.get_bind().dialect.name)


def _forget_pairing_days(gone: Sequence[Any], zone: ZoneInfo) -> None:
    """Drop the kept pairing flags of every day whose events, a shift either side, lost one: a
    deletion could leave a day's counts as they were if records came in meanwhile. A chunk's
    days are few and old, so the chunk's latest day stands for all its enterprises."""
    if not gone:
        return
    # A day reads its events up to a max stay (48 hours at most) either side of it.
    last = max(row.corrected_at for row in gone).astimezone(zone).date() + timedelta(days=2)
    db.session.execute(
        delete(PairingDay).where(
            PairingDay.enterprise_id.in_({row.enterprise_id for row in gone}),
            PairingDay.day <= last,
        )
    )


def _rows_deleted(statement: Delete) -> int:
    # Nothing deleted is loaded in the session: no need to fetch the ids to forget them there.
    result = db.session.execute(statement, execution_options={"synchronize_session": False})
    # A DML statement's result is a CursorResult; Session.execute is typed for any statement.
    return cast(CursorResult[Any], result).rowcount


def _add_daily_counts(gone: Sequence[Any], zone: ZoneInfo) -> None:
    """Add the chunk's events to their day's counts: one read, then one statement per kind of
    change (a day already counted by an earlier chunk gains, a new day is inserted)."""
    worker_ids = {row.worker_id for row in gone if row.worker_id is not None}
    provinces = (
        dict(
            db.session.execute(
                select(Worker.id, Worker.home_province_code).where(_among(Worker.id, worker_ids))
            ).all()
        )
        if worker_ids
        else {}
    )
    tally: Counter[_DayKey] = Counter(
        (
            row.occurred_at.astimezone(zone).date(),
            row.enterprise_id,
            row.gate_id,
            row.direction,
            row.method,
            row.subject_kind,
            provinces.get(row.worker_id),
        )
        for row in gone
    )
    key_columns = (
        DailyGateCount.day,
        DailyGateCount.enterprise_id,
        DailyGateCount.gate_id,
        DailyGateCount.direction,
        DailyGateCount.method,
        DailyGateCount.subject_kind,
        DailyGateCount.home_province_code,
    )
    existing = {
        tuple(row[1:]): row[0]
        for row in db.session.execute(
            select(DailyGateCount.id, *key_columns).where(
                DailyGateCount.enterprise_id.in_({key[1] for key in tally}),
                DailyGateCount.day.in_({key[0] for key in tally}),
            )
        )
    }
    counted = DailyGateCount.__table__
    # Added in SQL, not written back as read: a purge running at once may add to the same row.
    if grown := [{"row": existing[key], "n": n} for key, n in tally.items() if key in existing]:
        db.session.execute(
            update(counted)
            .where(counted.c.id == bindparam("row"))
            .values(count=counted.c.count + bindparam("n")),
            grown,
        )
    if new := [
        dict(zip((column.key for column in key_columns), key, strict=True), count=n)
        for key, n in tally.items()
        if key not in existing
    ]:
        db.session.execute(insert(counted), new)


def _add_purged_seqs(gone: Sequence[Any]) -> None:
    """Store the chunk's seqs as purged ranges merged with the stored ranges they touch, and
    take them off their tablet's stored count."""
    seqs: dict[tuple[int, int], list[int]] = {}
    for row in gone:
        if row.device_id is not None and row.seq is not None:
            seqs.setdefault((row.device_id, row.seq_epoch), []).append(row.seq)
    if not seqs:
        return
    fresh = {key: _as_ranges(numbers) for key, numbers in seqs.items()}
    stored: dict[tuple[int, int], list[tuple[int, int, int | None]]] = {}
    # Locked: a stored range is written back with the bounds read here, so a purge running at
    # once waits and merges with what this one wrote.
    for row_id, device_id, epoch, low, high in db.session.execute(
        select(
            PurgedSeqRange.id,
            PurgedSeqRange.device_id,
            PurgedSeqRange.seq_epoch,
            PurgedSeqRange.low,
            PurgedSeqRange.high,
        )
        .where(
            or_(
                *(
                    and_(
                        PurgedSeqRange.device_id == device_id,
                        PurgedSeqRange.seq_epoch == epoch,
                        PurgedSeqRange.low <= ranges[-1][1] + 1,
                        PurgedSeqRange.high >= ranges[0][0] - 1,
                    )
                    for (device_id, epoch), ranges in fresh.items()
                )
            )
        )
        .with_for_update()
    ):
        stored.setdefault((device_id, epoch), []).append((low, high, row_id))
    purged = PurgedSeqRange.__table__
    merged = [
        merge
        for (device_id, epoch), new in fresh.items()
        for merge in _merged(device_id, epoch, new, stored.get((device_id, epoch), []))
    ]
    if dropped := [row_id for merge in merged for row_id in merge.dropped]:
        db.session.execute(delete(purged).where(purged.c.id.in_(dropped)))
    if widened := [
        {"row": merge.kept, "new_low": merge.low, "new_high": merge.high}
        for merge in merged
        if merge.kept is not None
    ]:
        db.session.execute(
            update(purged)
            .where(purged.c.id == bindparam("row"))
            .values(low=bindparam("new_low"), high=bindparam("new_high")),
            widened,
        )
    if added := [
        {
            "device_id": merge.device_id,
            "seq_epoch": merge.epoch,
            "low": merge.low,
            "high": merge.high,
        }
        for merge in merged
        if merge.kept is None
    ]:
        db.session.execute(insert(purged), added)
    devices = Device.__table__
    db.session.execute(
        update(devices)
        .where(devices.c.id == bindparam("device"), devices.c.seq_epoch == bindparam("epoch"))
        .values(seqs_stored=devices.c.seqs_stored - bindparam("n")),
        [
            {"device": device_id, "epoch": epoch, "n": len(numbers)}
            for (device_id, epoch), numbers in seqs.items()
        ],
    )


def _as_ranges(numbers: list[int]) -> list[tuple[int, int]]:
    ranges: list[tuple[int, int]] = []
    for number in sorted(set(numbers)):
        if ranges and number == ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], number)
        else:
            ranges.append((number, number))
    return ranges


@dataclass
class _Merge:
    """One purged range to store: widening the stored row `kept`, or new; `dropped` rows are
    swallowed by it."""

    device_id: int
    epoch: int
    low: int
    high: int
    kept: int | None = None
    dropped: list[int] = field(default_factory=list)


def _merged(
    device_id: int,
    epoch: int,
    new: list[tuple[int, int]],
    stored: list[tuple[int, int, int | None]],
) -> list[_Merge]:
    """The new ranges joined with the stored ranges (low, high, id) they touch or overlap; a
    stored range nothing touched is left out, it needs no write."""
    merges: list[_Merge] = []
    current: _Merge | None = None
    touched = False
    ranges = [*stored, *((low, high, None) for low, high in new)]
    for low, high, row_id in sorted(ranges, key=lambda item: item[:2]):
        if current is not None and low <= current.high + 1:
            current.high = max(current.high, high)
        else:
            if current is not None and touched:
                merges.append(current)
            current, touched = _Merge(device_id, epoch, low, high), False
        if row_id is None:
            touched = True
        elif current.kept is None:
            current.kept = row_id
        else:
            current.dropped.append(row_id)
    if current is not None and touched:
        merges.append(current)
    return merges


def purged_seq_ranges(device_ids: list[int]) -> dict[tuple[int, int], list[tuple[int, int]]]:
    """{(device id, seq epoch): [(low, high), ...]} of seqs received and then purged."""
    ranges: dict[tuple[int, int], list[tuple[int, int]]] = {}
    # Columns, and the ids as one parameter: a province's 2,000 tablets each have a range after
    # the first purge, and loading them as objects by 2,000 placeholders took 77 ms.
    dialect = db.session.get_bind().dialect.name
    query = (
        select(
            PurgedSeqRange.device_id,
            PurgedSeqRange.seq_epoch,
            PurgedSeqRange.low,
            PurgedSeqRange.high,
        )
        .where(among(PurgedSeqRange.device_id, device_ids, dialect))
        .order_by(PurgedSeqRange.device_id, PurgedSeqRange.seq_epoch, PurgedSeqRange.low)
    )
    for device_id, epoch, low, high in db.session.execute(query):
        ranges.setdefault((device_id, epoch), []).append((low, high))
    return ranges
