"""The store interface the sync engine works through, and the plain records it exchanges.

The engine never sees a database: `server.sync_store` adapts SQLAlchemy to this protocol and
`sync.memory_store` keeps everything in dicts for tests. One contract test suite
(tests/sync/test_store_contract.py) holds both to the same behaviour.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

SubjectRef = tuple[str, str]
"""(kind, value) as sent by the gate: ("badge", "ABCD..."), ("worker", "41"), ("text", "...")."""


@dataclass(frozen=True, slots=True)
class DeviceContext:
    """The enrolled device a request speaks for; the token resolved to it."""

    device_id: int
    enterprise_id: int


@dataclass(frozen=True, slots=True)
class SeqState:
    """What the server knows of a device's seq counter, read under the device lock."""

    epoch: int
    highest_seq: int
    missing: tuple[tuple[int, int], ...]


@dataclass(frozen=True, slots=True)
class LinkReport:
    """What a tablet said of itself when it pushed: only a push speaks for the tablet's link."""

    synced_at: datetime
    skew_seconds: float
    app_version: str
    backlog: int
    oldest_pending_at: datetime | None


@dataclass(frozen=True, slots=True)
class DeviceUpdate:
    """The device fields one delivery changes; `link` is None when the tablet was not heard."""

    seq: SeqState
    seq_reset: bool
    previous_highest_seq: int
    at: datetime
    link: LinkReport | None
    # Numbered events this delivery stored, all in `seq.epoch`.
    stored: int = 0


@dataclass(frozen=True, slots=True)
class Resolution:
    """Who a subject is; facts that flag the event (it is recorded all the same)."""

    worker_id: int | None = None
    visitor_id: int | None = None
    pass_id: int | None = None
    active: bool = True
    valid_from: datetime | None = None
    valid_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class EventRow:
    """One event ready to be stored, times in UTC."""

    id: str
    enterprise_id: int
    device_id: int | None
    gate_id: int
    seq: int | None
    occurred_at: datetime
    occurred_offset_minutes: int
    received_at: datetime
    corrected_at: datetime
    direction: str
    subject_kind: str
    subject_value: str
    worker_id: int | None
    visitor_id: int | None
    pass_id: int | None
    flags: tuple[str, ...]
    method: str
    note: str | None
    visitor: Mapping[str, str] | None
    content_hash: str


@dataclass(frozen=True, slots=True)
class StagedEvents:
    """Event rows made ready to write before the device lock is taken.

    `encoded` is the store's own form of the rows (empty for a store that needs none): building
    it is most of a push's Python work, which under the lock would hold every other push back.
    """

    rows: list[EventRow]
    encoded: list[tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class QuarantineRow:
    """An event the server refused, kept with its raw body so nothing is lost silently."""

    enterprise_id: int
    device_id: int | None
    event_id: str | None
    seq: int | None
    reason: str
    detail: str
    raw: str
    received_at: datetime


@dataclass(frozen=True, slots=True)
class NewVisitor:
    """A visitor who checked in on their own phone for the first time."""

    name: str
    phone: str
    organisation: str


@dataclass(frozen=True, slots=True)
class CheckinRecord:
    """What a self check-in stores beside its event: the poster, the declaration, the visitor."""

    poster_id: int
    answers: tuple[tuple[int, str, bool], ...]
    new_visitor: NewVisitor | None = None


@dataclass(frozen=True, slots=True)
class Passage:
    """A stored event as paper backfill compares against it."""

    id: str
    occurred_at: datetime
    gate_id: int
    method: str


@dataclass(frozen=True, slots=True)
class RollCallEntryRow:
    key: str
    kind: str
    worker_id: int | None
    name: str
    department: str
    code: str
    ticked_at: datetime | None


@dataclass(frozen=True, slots=True)
class RollCallRow:
    """One version of a tablet's roll call, as it is to be kept."""

    id: str
    enterprise_id: int
    device_id: int
    gate_id: int
    version: int
    started_at: datetime
    closed_at: datetime | None
    entries: tuple[RollCallEntryRow, ...]
    received_at: datetime


@dataclass(frozen=True, slots=True)
class StoredRollCall:
    device_id: int
    version: int


@dataclass(frozen=True, slots=True)
class BatchOpen:
    """The facts of a push known before its events are applied."""

    enterprise_id: int
    device_id: int
    batch_id: str
    received_at: datetime
    sent_at: datetime
    skew_seconds: float
    app_version: str
    backlog: int
    oldest_pending_at: datetime | None
    event_count: int


@dataclass(frozen=True, slots=True)
class BatchClose:
    """The outcome of a push, written on its SyncBatch row before commit."""

    accepted: int
    duplicate: int
    rejected: int
    highest_seq: int
    seq_reset: bool
    duration_ms: float


@dataclass(frozen=True, slots=True)
class RosterPerson:
    id: int
    code: str
    name: str
    department: str | None
    badge_token: str | None
    phone_last4: str | None
    active: bool
    version: int


@dataclass(frozen=True, slots=True)
class RosterPass:
    id: int
    token: str
    name: str
    organisation: str | None
    valid_from: datetime
    valid_until: datetime
    active: bool
    version: int


class SyncStore(Protocol):
    """What the engine needs from storage. Every write happens inside `transaction()`.

    `existing_gate_ids`, `resolve_subjects` and `stage_events` may also be called before it: the
    engine reads and encodes ahead of the device lock, so that the lock is held for writes only.
    """

    def transaction(self) -> AbstractContextManager[None]:
        """Commit on normal exit, roll back on an exception; nothing is half written."""
        ...

    def lock_device(self, device_id: int, seen_at: datetime | None) -> SeqState:
        """Take the device's write lock for the transaction and return its seq state.

        `seen_at` is when the tablet was heard from; None when it was not (a file HR uploads).
        """
        ...

    def update_device(self, device_id: int, changes: DeviceUpdate) -> None: ...

    def existing_gate_ids(self, enterprise_id: int, gate_ids: Iterable[int]) -> set[int]:
        """Those of `gate_ids` that are gates of the enterprise, active or not."""
        ...

    def resolve_subjects(
        self, enterprise_id: int, refs: Iterable[SubjectRef]
    ) -> dict[SubjectRef, Resolution]:
        """Resolve badge/pass tokens and worker ids of the enterprise; unknown refs are left out."""
        ...

    def seq_owners(self, device_id: int, epoch: int, seqs: Iterable[int]) -> dict[int, str]:
        """Which stored event id holds each of `seqs` in the device's epoch."""
        ...

    def open_batch(self, batch: BatchOpen) -> int:
        """Write the SyncBatch row of this push; return its id (the stored events point at it)."""
        ...

    def stage_events(self, rows: list[EventRow]) -> StagedEvents:
        """The rows in the form `insert_events` writes; called before the lock, writes nothing."""
        ...

    def insert_events(
        self, batch_ref: int | None, epoch: int, staged: StagedEvents
    ) -> dict[str, str]:
        """Insert rows whose id is new, numbered in the device's seq `epoch`; return
        {id: stored content hash} of the ids that existed.

        `batch_ref` is the SyncBatch of a tablet's delivery, None for records no tablet sent.
        """
        ...

    def quarantine(self, batch_ref: int | None, rows: list[QuarantineRow]) -> None: ...

    def stored_hashes(self, ids: Iterable[str]) -> dict[str, str]:
        """{id: content hash} of those of `ids` already stored."""
        ...

    def record_checkin(self, enterprise_id: int, event_id: str, record: CheckinRecord) -> None:
        """Store what a self check-in keeps beside its event, just inserted."""
        ...

    def passages(
        self,
        enterprise_id: int,
        subject: SubjectRef,
        direction: str,
        start: datetime,
        end: datetime,
    ) -> list[Passage]:
        """Stored events of this person ("worker", id) or unresolved name ("text", name),
        this way, with start <= occurred_at <= end."""
        ...

    def roll_call(self, roll_call_id: str) -> StoredRollCall | None:
        """The stored version of a roll call, locked for the transaction."""
        ...

    def save_roll_call(self, row: RollCallRow, *, new: bool) -> bool:
        """Keep this version; False when `new` and another request stored the id first."""
        ...

    def close_batch(self, batch_ref: int, outcome: BatchClose) -> None: ...

    def roster_version(self, enterprise_id: int) -> int:
        """The change counter as committed: every change numbered up to it is already visible."""
        ...

    def id_card_fields(self, enterprise_id: int) -> list[str]:
        """What the enterprise's gates keep of a visitor's chip ID card besides the name."""
        ...

    def roster_people(
        self, enterprise_id: int, after: int, upto: int, limit: int
    ) -> list[RosterPerson]:
        """People of the enterprise with after < version <= upto, by version, at most `limit`."""
        ...

    def roster_passes(
        self, enterprise_id: int, after: int, upto: int, limit: int
    ) -> list[RosterPass]:
        """Visitor passes with after < version <= upto, by version, at most `limit`."""
        ...
