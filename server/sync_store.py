"""The SQLAlchemy adapter of `sync.store.SyncStore`, on SQLite and PostgreSQL.

The hot path is one driver executemany of INSERT ... ON CONFLICT (id) DO NOTHING, and only when
it stored fewer rows than it was given, one SELECT of the ids that were already there. A
RETURNING insert through the ORM costs PostgreSQL about three times the driver's executemany,
and SQLAlchemy's per-value bind processing costs more than the insert itself, so the rows are
encoded here exactly as the models' column types would encode them (the contract tests read
them back through the ORM on both databases).
"""

from __future__ import annotations

import fcntl
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, insert, or_, select, update
from sqlalchemy.orm import Session, scoped_session

from server.models import (
    Device,
    Enterprise,
    Gate,
    GateEvent,
    QuarantinedEvent,
    SyncBatch,
    Visitor,
    VisitorPass,
    Worker,
)
from server.text import digits
from sync.store import (
    BatchClose,
    BatchOpen,
    DeviceUpdate,
    EventRow,
    QuarantineRow,
    Resolution,
    RosterPass,
    RosterPerson,
    SeqState,
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


class SqlSyncStore:
    """Reads and writes through one SQLAlchemy session; `transaction()` owns its commit."""

    def __init__(self, session: Session | scoped_session[Any]) -> None:
        self.session = session

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self.session.get_bind().dialect.name != "sqlite":
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

    @contextmanager
    def _committed(self) -> Iterator[None]:
        try:
            yield
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise

    def lock_device(self, device_id: int, now: datetime) -> SeqState:
        # A write first: it takes the device's row lock on PostgreSQL and the write lock on
        # SQLite, so two pushes of one device never interleave.
        epoch, highest, missing = self.session.execute(
            update(Device)
            .where(Device.id == device_id)
            .values(self._seen(now))
            .returning(Device.seq_epoch, Device.highest_seq, Device.missing_seq_ranges)
        ).one()
        return SeqState(epoch, highest, tuple((low, high) for low, high in missing or ()))

    def _seen(self, now: datetime) -> dict[str, Any]:
        """What the device lock writes: the tablet was heard from."""
        return {"last_seen_at": now}

    def _link(self, changes: DeviceUpdate) -> dict[str, Any]:
        """The tablet's link state as this push reports it."""
        return {
            "last_sync_at": changes.synced_at,
            "last_skew_seconds": changes.skew_seconds,
            "app_version": changes.app_version,
            "reported_backlog": changes.backlog,
            "oldest_pending_at": changes.oldest_pending_at,
        }

    def update_device(self, device_id: int, changes: DeviceUpdate) -> None:
        values: dict[str, Any] = {
            "seq_epoch": changes.seq.epoch,
            "highest_seq": changes.seq.highest_seq,
            "missing_seq_ranges": [list(r) for r in changes.seq.missing],
            **self._link(changes),
        }
        if changes.seq_reset:
            values |= {
                "seq_reset_at": changes.synced_at,
                "seq_reset_count": Device.seq_reset_count + 1,
                "seq_before_reset": changes.previous_highest_seq,
            }
        self.session.execute(update(Device).where(Device.id == device_id).values(values))

    def existing_gate_ids(self, enterprise_id: int, gate_ids: Iterable[int]) -> set[int]:
        query = select(Gate.id).where(Gate.enterprise_id == enterprise_id, Gate.id.in_(gate_ids))
        return set(self.session.scalars(query))

    def resolve_subjects(
        self, enterprise_id: int, refs: Iterable[SubjectRef]
    ) -> dict[SubjectRef, Resolution]:
        wanted: dict[str, set[str]] = {"badge": set(), "worker": set(), "pass": set()}
        for kind, value in refs:
            wanted[kind].add(value)
        resolved: dict[SubjectRef, Resolution] = {}
        if wanted["badge"]:
            badges = select(Worker.id, Worker.active, Worker.badge_token).where(
                Worker.enterprise_id == enterprise_id, Worker.badge_token.in_(wanted["badge"])
            )
            for worker_id, active, token in self.session.execute(badges):
                # Only a token asked for matches, so it is never NULL here.
                resolved[("badge", str(token))] = Resolution(worker_id=worker_id, active=active)
        if wanted["worker"]:
            ids = {int(value) for value in wanted["worker"]}
            workers = select(Worker.id, Worker.active).where(
                Worker.enterprise_id == enterprise_id, Worker.id.in_(ids)
            )
            for worker_id, active in self.session.execute(workers):
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
                VisitorPass.enterprise_id == enterprise_id, VisitorPass.token.in_(wanted["pass"])
            )
            for pass_id, visitor_id, token, active, valid_from, valid_until in self.session.execute(
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
            GateEvent.seq.in_(list(seqs)),
        )
        owners = self.session.execute(query)
        return {seq: str(event_id) for seq, event_id in owners if seq is not None}

    def open_batch(self, batch: BatchOpen) -> int:
        # A Core insert: an ORM add and flush costs more than the whole row is worth.
        return self.session.execute(
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

    def insert_events(self, batch_ref: int, rows: list[EventRow]) -> dict[str, str]:
        connection = self.session.connection()
        sql, encode = _event_insert(connection.dialect.name)
        inserted = connection.exec_driver_sql(sql, [encode(batch_ref, row) for row in rows])
        if inserted.rowcount == len(rows):
            return {}
        query = select(GateEvent.id, GateEvent.content_hash).where(
            GateEvent.id.in_([uuid.UUID(row.id) for row in rows]),
            or_(GateEvent.batch_id != batch_ref, GateEvent.batch_id.is_(None)),
        )
        return {
            str(event_id): content_hash for event_id, content_hash in self.session.execute(query)
        }

    def quarantine(self, batch_ref: int, rows: list[QuarantineRow]) -> None:
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

    def close_batch(self, batch_ref: int, outcome: BatchClose) -> None:
        self.session.execute(
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
        query = (
            select(Worker)
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
                id=worker.id,
                code=worker.employee_code,
                name=worker.full_name,
                department=worker.department or None,
                badge_token=worker.badge_token,
                phone_last4=digits(worker.phone or "")[-4:] or None,
                active=worker.active,
                version=worker.roster_version,
            )
            for worker in self.session.scalars(query)
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


_EVENT_COLUMNS = (
    "id",
    "enterprise_id",
    "gate_id",
    "device_id",
    "seq",
    "seq_epoch",
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
    "batch_id",
    "content_hash",
    "flags",
)
_Encoder = Callable[[int, EventRow], tuple[Any, ...]]


def _event_insert(dialect: str) -> tuple[str, _Encoder]:
    """The driver-level INSERT for the dialect and the function that encodes one row for it."""
    columns = [_event_table.c[name].name for name in _EVENT_COLUMNS]
    event_id: Callable[[str], str]
    moment: Callable[[datetime], object]
    if dialect == "sqlite":
        # As SQLAlchemy stores them on SQLite: UUIDs as 32 hex digits, times as naive UTC text.
        mark, event_id, moment = "?", _hex_uuid, _sqlite_time
    else:
        # psycopg sends str with an unknown type, so PostgreSQL casts it to uuid and json.
        mark, event_id, moment = "%s", str, _naive_utc
    names, marks = ", ".join(columns), ", ".join([mark] * len(columns))
    # Identifiers come from our own table metadata; every value is a bound parameter.
    sql = f"INSERT INTO {_event_table.name} ({names}) VALUES ({marks}) ON CONFLICT (id) DO NOTHING"  # noqa: S608

    def encode(batch_ref: int, row: EventRow) -> tuple[Any, ...]:
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
            row.seq_epoch,
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
            moment(row.received_at),
            batch_ref,
            row.content_hash,
            json.dumps(list(row.flags)) if row.flags else "[]",
        )

    return sql, encode


def _hex_uuid(value: str) -> str:
    # The engine hands ids in canonical form (str(uuid.UUID(...))), so dropping the dashes is exact.
    return value.replace("-", "")


def _sqlite_time(moment: datetime) -> str:
    # SQLAlchemy's own text form: four-digit year, always six fractional digits.
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)
