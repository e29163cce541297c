"""The SQLAlchemy adapter of `sync.store.SyncStore`, on SQLite and PostgreSQL.

The hot path is one driver INSERT ... ON CONFLICT (id) DO NOTHING of the batch (one multi-row
statement on SQLite, an executemany on PostgreSQL), and only when it stored fewer rows than it
was given, one SELECT of the ids that were already there. A
RETURNING insert through the ORM costs PostgreSQL about three times the driver's executemany,
and SQLAlchemy's per-value bind processing costs more than the insert itself, so the rows are
encoded here exactly as the models' column types would encode them (the contract tests read
them back through the ORM on both databases).
"""

from __future__ import annotations

import fcntl
import functools
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Table, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from server import last_passage
from server.database import among
from server.models import (
    DeclarationAnswer,
    Device,
    Enterprise,
    Gate,
    GateEvent,
    QuarantinedEvent,
    RollCall,
    RollCallEntry,
    SelfCheckin,
    SyncBatch,
    Visitor,
    VisitorPass,
    Worker,
)
from server.text import digits
from sync.store import (
    BatchClose,
    BatchOpen,
    CheckinRecord,
    DeviceUpdate,
    EventRow,
    Passage,
    QuarantineRow,
    Resolution,
    RollCallRow,
    RosterPass,
    RosterPerson,
    SeqState,
    StagedEvents,
    StoredRollCall,
    SubjectRef,
)

_event_table: Table = GateEvent.__table__


@contextmanager
def _sqlite_push_turn(database: str | None) -> Iterator[None]:
    """Wait for this push's turn to write, in the kernel, across every thread and worker.

    SQLite has one writer at a time, and a writer that finds it busy sleeps in SQLite's busy
    handler for up to 100 ms between tries: with eight pushes waiting, the lock sits free while
    they sleep, and an unlucky one loses for seconds (p99 of 5-9 s, then a 503). An flock on a
    file beside the database queues them instead and wakes the next one the moment the lock is
    released. Each push opens its own descriptor, so threads of one worker exclude each other
    too. The wait is bounded: a holder's statements are bounded by the busy timeout, and the
    kernel releases the lock of a worker that dies.
    """
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.push-lock", "a") as turn:
        fcntl.flock(turn, fcntl.LOCK_EX)
        yield


_SQLITE_WORKER_TURN = threading.Lock()


class SqlSyncStore:
    """Reads and writes through one SQLAlchemy session; `transaction()` owns its commit."""

    def __init__(self, session: Session | scoped_session[Any]) -> None:
        self.session = session

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._dialect != "sqlite":
            # READ COMMITTED takes a fresh snapshot per statement, so the push simply goes on in
            # the transaction that read the token: no extra commit, pool checkout and ping.
            with self._committed():
                yield
            return
        # On SQLite a read snapshot cannot be upgraded to a write once another push committed:
        # whatever the request read before must end first.
        self.session.commit()
        with _sqlite_push_turn(self.session.get_bind().engine.url.database), self._committed():
            yield

    def worker_turn(self) -> AbstractContextManager[Any]:
        """Held around a push's parsing, checks, encoding and writing; its body is read from the
        connection before, so a slow link holds no one up.

        On SQLite a worker process runs one push at a time: pushes write one at a time anyway
        (see `_sqlite_push_turn`), and the one writing needs its process's GIL between
        statements. Other pushes of the same process parsing meanwhile took it from the writer,
        which held the database's write lock longer: under eight tablets pushing 500-event
        batches to two workers, 29 ms at p50 (15 with no other push), 24 with the turn; pushes
        stored 14,600 events/s, 17,800 with it. Queued here, one worker's parsing overlaps the
        other's writing. PostgreSQL writes different tablets' pushes side by side."""
        return _SQLITE_WORKER_TURN if self._dialect == "sqlite" else nullcontext()

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    @property
    def _core(self) -> Connection:
        """The session's connection: statements that load or change no mapped object run on it,
        since the ORM's work per statement costs more than the statement (several run under the
        lock)."""
        return self.session.connection()

    @contextmanager
    def _committed(self) -> Iterator[None]:
        try:
            yield
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise

    def lock_device(self, device_id: int, seen_at: datetime | None) -> SeqState:
        # A write first: it takes the device's row lock on PostgreSQL and the write lock on
        # SQLite, so two deliveries of one device never interleave. A tablet not heard from
        # (a file HR uploads) writes its own last_seen_at back: the same lock, no news.
        epoch, highest, missing = self._core.execute(
            update(Device)
            .where(Device.id == device_id)
            .values(last_seen_at=Device.last_seen_at if seen_at is None else seen_at)
            .returning(Device.seq_epoch, Device.highest_seq, Device.missing_seq_ranges)
        ).one()
        return SeqState(epoch, highest, tuple((low, high) for low, high in missing or ()))

    def update_device(self, device_id: int, changes: DeviceUpdate) -> None:
        values: dict[str, Any] = {
            "seq_epoch": changes.seq.epoch,
            "highest_seq": changes.seq.highest_seq,
            "missing_seq_ranges": [list(r) for r in changes.seq.missing],
            # A new epoch starts its count from what this delivery stored in it.
            "seqs_stored": changes.stored
            if changes.seq_reset
            else Device.seqs_stored + changes.stored,
        }
        link = changes.link
        if link is not None:
            values |= {
                "last_sync_at": link.synced_at,
                "last_skew_seconds": link.skew_seconds,
                "app_version": link.app_version,
                "reported_backlog": link.backlog,
                "oldest_pending_at": link.oldest_pending_at,
            }
        if changes.seq_reset:
            values |= {
                "seq_reset_at": changes.at,
                "seq_reset_count": Device.seq_reset_count + 1,
                "seq_before_reset": changes.previous_highest_seq,
            }
        self._core.execute(update(Device).where(Device.id == device_id).values(values))

    def existing_gate_ids(self, enterprise_id: int, gate_ids: Iterable[int]) -> set[int]:
        query = select(Gate.id).where(Gate.enterprise_id == enterprise_id, Gate.id.in_(gate_ids))
        return set(self._core.execute(query).scalars())

    def resolve_subjects(
        self, enterprise_id: int, refs: Iterable[SubjectRef]
    ) -> dict[SubjectRef, Resolution]:
        wanted: dict[str, set[str]] = {"badge": set(), "worker": set(), "pass": set()}
        for kind, value in refs:
            wanted[kind].add(value)
        resolved: dict[SubjectRef, Resolution] = {}
        if wanted["badge"]:
            badges = select(Worker.id, Worker.active, Worker.badge_token).where(
                Worker.enterprise_id == enterprise_id,
                among(Worker.badge_token, wanted["badge"], self._dialect),
            )
            for worker_id, active, token in self._core.execute(badges):
                # Only a token asked for matches, so it is never NULL here.
                resolved[("badge", str(token))] = Resolution(worker_id=worker_id, active=active)
        if wanted["worker"]:
            ids = {int(value) for value in wanted["worker"]}
            workers = select(Worker.id, Worker.active).where(
                Worker.enterprise_id == enterprise_id, among(Worker.id, ids, self._dialect)
            )
            for worker_id, active in self._core.execute(workers):
                resolved[("worker", str(worker_id))] = Resolution(
                    worker_id=worker_id, active=active
                )
        if wanted["pass"]:
            passes = select(
                VisitorPass.id,
                VisitorPass.visitor_id,
                VisitorPass.token,
                VisitorPass.active,
                VisitorPass.valid_from,
                VisitorPass.valid_until,
            ).where(
                VisitorPass.enterprise_id == enterprise_id,
                among(VisitorPass.token, wanted["pass"], self._dialect),
            )
            for pass_id, visitor_id, token, active, valid_from, valid_until in self._core.execute(
                passes
            ):
                resolved[("pass", token)] = Resolution(
                    visitor_id=visitor_id,
                    pass_id=pass_id,
                    active=active,
                    valid_from=valid_from,
                    valid_until=valid_until,
                )
        return resolved

    def seq_owners(self, device_id: int, epoch: int, seqs: Iterable[int]) -> dict[int, str]:
        query = select(GateEvent.seq, GateEvent.id).where(
            GateEvent.device_id == device_id,
            GateEvent.seq_epoch == epoch,
            among(GateEvent.seq, list(seqs), self._dialect),
        )
        owners = self._core.execute(query)
        return {seq: str(event_id) for seq, event_id in owners if seq is not None}

    def open_batch(self, batch: BatchOpen) -> int:
        # A Core insert: an ORM add and flush costs more than the whole row is worth.
        return self._core.execute(
            insert(SyncBatch)
            .values(
                client_batch_id=batch.batch_id,
                device_id=batch.device_id,
                received_at=batch.received_at,
                sent_at=batch.sent_at,
                backlog=batch.backlog,
                oldest_pending_at=batch.oldest_pending_at,
                skew_seconds=batch.skew_seconds,
                app_version=batch.app_version,
            )
            .returning(SyncBatch.id)
        ).scalar_one()

    def stage_events(self, rows: list[EventRow]) -> StagedEvents:
        encode = _event_encoder(self._dialect)
        return StagedEvents(rows, [encode(row) for row in rows])

    def insert_events(
        self, batch_ref: int | None, epoch: int, staged: StagedEvents
    ) -> dict[str, str]:
        connection = self.session.connection()
        sql = _event_insert(connection.dialect.name)
        # The two values known only under the lock close each row's encoded tuple.
        tail = (epoch, batch_ref)
        rows = staged.rows
        if batch_ref is None:
            # Records no tablet sent come a few at a time: each insert says whether it stored.
            existing: dict[str, str] = {}
            for row, head in zip(rows, staged.encoded, strict=True):
                stored = connection.exec_driver_sql(sql + " RETURNING id", head + tail)
                if stored.first() is None:
                    existing |= self.stored_hashes([row.id])
            inserted_ids = [uuid.UUID(row.id) for row in rows if row.id not in existing]
            if inserted_ids:
                last_passage.record_stored(connection, GateEvent.id.in_(inserted_ids))
            return existing
        if connection.dialect.name == "sqlite":
            # One statement for the batch: executemany steps SQLite once per row, giving up and
            # taking back the GIL each time, while every other push waits for the write lock.
            values = tuple(value for head in staged.encoded for value in head + tail)
            inserted = connection.exec_driver_sql(_event_insert("sqlite", len(rows)), values)
        else:
            # psycopg pipelines an executemany; PostgreSQL plans one 500-row VALUES far slower.
            inserted = connection.exec_driver_sql(sql, [head + tail for head in staged.encoded])
        if inserted.rowcount:
            # This push's batch holds exactly the rows it stored: a row already there kept its own.
            last_passage.record_batch(connection, batch_ref)
        if inserted.rowcount == len(rows):
            return {}
        query = select(GateEvent.id, GateEvent.content_hash).where(
            GateEvent.id.in_([uuid.UUID(row.id) for row in rows]),
            or_(GateEvent.batch_id != batch_ref, GateEvent.batch_id.is_(None)),
        )
        return {str(event_id): content_hash for event_id, content_hash in self._core.execute(query)}

    def stored_hashes(self, ids: Iterable[str]) -> dict[str, str]:
        query = select(GateEvent.id, GateEvent.content_hash).where(
            GateEvent.id.in_([uuid.UUID(event_id) for event_id in ids])
        )
        return {str(event_id): stored for event_id, stored in self._core.execute(query)}

    def quarantine(self, batch_ref: int | None, rows: list[QuarantineRow]) -> None:
        if not rows:
            return
        self.session.execute(
            QuarantinedEvent.__table__.insert(),
            [
                {
                    "enterprise_id": row.enterprise_id,
                    "device_id": row.device_id,
                    "batch_id": batch_ref,
                    "event_id": row.event_id,
                    "seq": row.seq,
                    "reason": row.reason,
                    "message": row.detail,
                    "raw": row.raw,
                    "received_at": row.received_at,
                }
                for row in rows
            ],
        )

    def record_checkin(self, enterprise_id: int, event_id: str, record: CheckinRecord) -> None:
        key = uuid.UUID(event_id)
        if record.new_visitor is not None:
            visitor = Visitor(
                enterprise_id=enterprise_id,
                full_name=record.new_visitor.name,
                phone=record.new_visitor.phone,
                organisation=record.new_visitor.organisation,
            )
            self.session.add(visitor)
            self.session.flush()
            self.session.execute(
                update(GateEvent)
                .where(GateEvent.id == key)
                .values(visitor_id=visitor.id, subject_kind="visitor")
            )
            last_passage.recount(self._core, visitor_ids=[visitor.id])
        self.session.add(
            SelfCheckin(event_id=key, enterprise_id=enterprise_id, poster_id=record.poster_id)
        )
        self.session.add_all(
            DeclarationAnswer(
                enterprise_id=enterprise_id,
                event_id=key,
                question_id=question_id,
                answer=answer,
                alert=alert,
            )
            for question_id, answer, alert in record.answers
        )
        self.session.flush()

    def passages(
        self,
        enterprise_id: int,
        subject: SubjectRef,
        direction: str,
        start: datetime,
        end: datetime,
    ) -> list[Passage]:
        kind, value = subject
        if kind == "worker":
            person = GateEvent.worker_id == int(value)
        else:
            person = GateEvent.worker_id.is_(None) & (GateEvent.subject_value == value)
        query = select(
            GateEvent.id, GateEvent.occurred_at, GateEvent.gate_id, GateEvent.method
        ).where(
            GateEvent.enterprise_id == enterprise_id,
            person,
            GateEvent.direction == direction,
            GateEvent.occurred_at >= start,
            GateEvent.occurred_at <= end,
        )
        return [
            Passage(str(event_id), occurred_at, gate_id, method)
            for event_id, occurred_at, gate_id, method in self.session.execute(query)
        ]

    def roll_call(self, roll_call_id: str) -> StoredRollCall | None:
        found = self.session.execute(
            select(RollCall.device_id, RollCall.version)
            .where(RollCall.client_id == uuid.UUID(roll_call_id))
            .with_for_update()
        ).first()
        return None if found is None else StoredRollCall(found.device_id, found.version)

    def save_roll_call(self, row: RollCallRow, *, new: bool) -> bool:
        key = uuid.UUID(row.id)
        if new:
            stored = RollCall(
                client_id=key,
                enterprise_id=row.enterprise_id,
                device_id=row.device_id,
                received_at=row.received_at,
            )
            try:
                with self.session.begin_nested():
                    self._fill_roll_call(stored, row)
                    self.session.add(stored)
            except IntegrityError:
                # Another request stored the same new roll call first: it exists now.
                return False
            return True
        found = self.session.scalar(select(RollCall).where(RollCall.client_id == key))
        if found is None:
            return False
        self._fill_roll_call(found, row)
        self.session.flush()
        return True

    def _fill_roll_call(self, stored: RollCall, row: RollCallRow) -> None:
        stored.gate_id = row.gate_id
        stored.version = row.version
        stored.started_at = row.started_at
        stored.closed_at = row.closed_at
        stored.updated_at = row.received_at
        current = {entry.person_key: entry for entry in stored.entries}
        sent = {entry.key for entry in row.entries}
        for key, old_entry in current.items():
            if key not in sent:
                stored.entries.remove(old_entry)
        for fields in row.entries:
            entry = current.get(fields.key)
            if entry is None:
                entry = RollCallEntry(person_key=fields.key)
                stored.entries.append(entry)
            entry.kind = fields.kind
            entry.worker_id = fields.worker_id
            entry.name = fields.name
            entry.department = fields.department
            entry.code = fields.code
            entry.ticked_at = fields.ticked_at

    def close_batch(self, batch_ref: int, outcome: BatchClose) -> None:
        self._core.execute(
            update(SyncBatch)
            .where(SyncBatch.id == batch_ref)
            .values(
                accepted=outcome.accepted,
                duplicate=outcome.duplicate,
                rejected=outcome.rejected,
                seq_reset=outcome.seq_reset,
                duration_ms=outcome.duration_ms,
            )
        )

    def roster_version(self, enterprise_id: int) -> int:
        query = select(Enterprise.roster_version).where(Enterprise.id == enterprise_id)
        return self.session.scalar(query) or 0

    def id_card_fields(self, enterprise_id: int) -> list[str]:
        query = select(Enterprise.id_card_fields).where(Enterprise.id == enterprise_id)
        return list(self.session.scalar(query) or [])

    def roster_people(
        self, enterprise_id: int, after: int, upto: int, limit: int
    ) -> list[RosterPerson]:
        # Only the columns a gate gets: loading whole Worker objects cost most of a 5,000-row page.
        query = (
            select(
                Worker.id,
                Worker.employee_code,
                Worker.full_name,
                Worker.department,
                Worker.badge_token,
                Worker.phone,
                Worker.active,
                Worker.roster_version,
            )
            .where(
                Worker.enterprise_id == enterprise_id,
                Worker.roster_version > after,
                Worker.roster_version <= upto,
            )
            .order_by(Worker.roster_version)
            .limit(limit)
        )
        return [
            RosterPerson(
                id=id_,
                code=code,
                name=name,
                department=department or None,
                badge_token=badge_token,
                phone_last4=digits(phone or "")[-4:] or None,
                active=active,
                version=version,
            )
            for id_, code, name, department, badge_token, phone, active, version in (
                self.session.connection().execute(query)
            )
        ]

    def roster_passes(
        self, enterprise_id: int, after: int, upto: int, limit: int
    ) -> list[RosterPass]:
        query = (
            select(VisitorPass, Visitor)
            .join(Visitor, Visitor.id == VisitorPass.visitor_id)
            .where(
                VisitorPass.enterprise_id == enterprise_id,
                VisitorPass.roster_version > after,
                VisitorPass.roster_version <= upto,
            )
            .order_by(VisitorPass.roster_version)
            .limit(limit)
        )
        return [
            RosterPass(
                id=visitor_pass.id,
                token=visitor_pass.token,
                name=visitor.full_name,
                organisation=visitor.organisation or None,
                valid_from=visitor_pass.valid_from,
                valid_until=visitor_pass.valid_until,
                active=visitor_pass.active,
                version=visitor_pass.roster_version,
            )
            for visitor_pass, visitor in self.session.execute(query)
        ]


# seq_epoch and batch_id last: they are known only under the device lock (`insert_events`).
_EVENT_COLUMNS = (
    "id",
    "enterprise_id",
    "gate_id",
    "device_id",
    "seq",
    "direction",
    "method",
    "subject_type",
    "subject_value",
    "subject_kind",
    "worker_id",
    "visitor_id",
    "visitor_pass_id",
    "visitor_details",
    "note",
    "occurred_at",
    "occurred_offset_minutes",
    "corrected_at",
    "received_at",
    "content_hash",
    "flags",
    "seq_epoch",
    "batch_id",
)
_Encoder = Callable[[EventRow], tuple[Any, ...]]


# Batches come in few sizes (full ones, a backlog's last, single events): their texts are kept.
@functools.lru_cache(maxsize=64)
def _event_insert(dialect: str, rows: int = 1) -> str:
    """The driver-level INSERT of `rows` event rows for the dialect."""
    mark = "?" if dialect == "sqlite" else "%s"
    names = ", ".join(_event_table.c[name].name for name in _EVENT_COLUMNS)
    values = ", ".join(["(" + ", ".join([mark] * len(_EVENT_COLUMNS)) + ")"] * rows)
    # Identifiers come from our own table metadata; every value is a bound parameter.
    return f"INSERT INTO {_event_table.name} ({names}) VALUES {values} ON CONFLICT (id) DO NOTHING"  # noqa: S608


def _event_encoder(dialect: str) -> _Encoder:
    """Encodes one row for `_event_insert`, all but its last two columns."""
    event_id: Callable[[str], str]
    moment: Callable[[datetime], object]
    if dialect == "sqlite":
        # As SQLAlchemy stores them on SQLite: UUIDs as 32 hex digits, times as naive UTC text.
        event_id, moment = _hex_uuid, _sqlite_time
    else:
        # psycopg sends str with an unknown type, so PostgreSQL casts it to uuid and json.
        event_id, moment = str, _naive_utc

    # Every row of a delivery was received at one instant: it is encoded once.
    received: dict[datetime, object] = {}

    def encode(row: EventRow) -> tuple[Any, ...]:
        if row.received_at not in received:
            received[row.received_at] = moment(row.received_at)
        if row.worker_id is not None:
            subject_kind = "worker"
        elif row.visitor_id is not None:
            subject_kind = "visitor"
        else:
            subject_kind = "unresolved"
        return (
            event_id(row.id),
            row.enterprise_id,
            row.gate_id,
            row.device_id,
            row.seq,
            row.direction,
            row.method,
            row.subject_kind,
            row.subject_value,
            subject_kind,
            row.worker_id,
            row.visitor_id,
            row.pass_id,
            json.dumps(dict(row.visitor), ensure_ascii=False) if row.visitor else "null",
            row.note,
            moment(row.occurred_at),
            row.occurred_offset_minutes,
            moment(row.corrected_at),
            received[row.received_at],
            row.content_hash,
            json.dumps(list(row.flags)) if row.flags else "[]",
        )

    return encode


def _hex_uuid(value: str) -> str:
    # The engine hands ids in canonical form (str(uuid.UUID(...))), so dropping the dashes is exact.
    return value.replace("-", "")


def _sqlite_time(moment: datetime) -> str:
    # SQLAlchemy's own text form: four-digit year, always six fractional digits.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def recount_seqs_stored(session: Session | scoped_session[Any]) -> None:
    """Set every tablet's `seqs_stored` from the events it has stored in its current epoch.

    For records written around the store (the seed's COPY); the store keeps the count itself.
    A tablet with no stored event keeps its count, 0 from enrolment.
    """
    counted = (
        select(GateEvent.device_id, GateEvent.seq_epoch, func.count().label("stored"))
        .where(GateEvent.seq.is_not(None))
        .group_by(GateEvent.device_id, GateEvent.seq_epoch)
        .subquery()
    )
    session.execute(
        update(Device)
        .where(Device.id == counted.c.device_id, Device.seq_epoch == counted.c.seq_epoch)
        .values(seqs_stored=counted.c.stored)
    )
