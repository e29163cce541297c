"""An in-memory `SyncStore`: the engine's tests, the reference client's property tests.

It behaves like the SQL store (the contract suite proves it): one lock stands for the database's
write lock, and every write made in a transaction is undone when the transaction fails.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial

from sync.schemas import ID_CARD_FIELDS
from sync.store import (
    BatchClose,
    BatchOpen,
    CheckinRecord,
    DeviceUpdate,
    EventRow,
    LinkReport,
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


@dataclass
class MemoryDevice:
    """The sync fields of a device, as the SQL store keeps them on its Device row."""

    enterprise_id: int
    seq: SeqState = field(default_factory=lambda: SeqState(0, 0, ()))
    seq_reset_count: int = 0
    seq_reset_at: datetime | None = None
    highest_seq_before_reset: int | None = None
    last_push_at: datetime | None = None
    link: LinkReport | None = None


@dataclass
class MemoryBatch:
    opened: BatchOpen
    closed: BatchClose | None = None


class MemoryStore:
    """Dicts behind the SyncStore protocol, plus `add_*` helpers to set up a roster."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._undo: list[Callable[[], object]] | None = None
        self._counter: dict[int, int] = {}
        self.devices: dict[int, MemoryDevice] = {}
        self.gates: dict[int, int] = {}
        self.people: dict[int, tuple[int, RosterPerson]] = {}
        self.passes: dict[int, tuple[int, RosterPass]] = {}
        # id: (batch_ref, row, seq epoch)
        self.events: dict[str, tuple[int | None, EventRow, int]] = {}
        self._by_seq: dict[tuple[int, int, int], str] = {}
        self.quarantined: list[tuple[int | None, QuarantineRow]] = []
        self.checkins: dict[str, CheckinRecord] = {}
        self.visitors: dict[int, tuple[int, str]] = {}
        self.roll_calls: dict[str, RollCallRow] = {}
        self.batches: dict[int, MemoryBatch] = {}
        self.id_card_choices: dict[int, list[str]] = {}

    # Setting up the world the engine reads.

    def add_device(self, device_id: int, enterprise_id: int) -> None:
        self.devices[device_id] = MemoryDevice(enterprise_id)

    def add_gate(self, gate_id: int, enterprise_id: int) -> None:
        self.gates[gate_id] = enterprise_id

    def _next_version(self, enterprise_id: int) -> int:
        self._counter[enterprise_id] = self._counter.get(enterprise_id, 0) + 1
        return self._counter[enterprise_id]

    def put_person(self, enterprise_id: int, person: RosterPerson) -> RosterPerson:
        """Create or change a person; it takes the enterprise's next change number."""
        person = replace(person, version=self._next_version(enterprise_id))
        self.people[person.id] = (enterprise_id, person)
        return person

    def put_pass(self, enterprise_id: int, visitor_pass: RosterPass) -> RosterPass:
        """Create or change a visitor pass; it takes the enterprise's next change number."""
        visitor_pass = replace(visitor_pass, version=self._next_version(enterprise_id))
        self.passes[visitor_pass.id] = (enterprise_id, visitor_pass)
        return visitor_pass

    # The SyncStore protocol.

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            if self._undo is not None:
                raise RuntimeError("transactions do not nest")
            self._undo = []
            try:
                yield
            except BaseException:
                for undo in reversed(self._undo):
                    undo()
                raise
            finally:
                self._undo = None

    def _journal(self, undo: Callable[[], object]) -> None:
        if self._undo is None:
            raise RuntimeError("writes happen inside transaction()")
        self._undo.append(undo)

    def lock_device(self, device_id: int, seen_at: datetime | None) -> SeqState:
        device = self.devices[device_id]
        previous = device.last_push_at
        self._journal(lambda: setattr(device, "last_push_at", previous))
        device.last_push_at = seen_at or previous
        return device.seq

    def update_device(self, device_id: int, changes: DeviceUpdate) -> None:
        device = self.devices[device_id]
        before = vars(replace(device))
        self._journal(lambda: vars(device).update(before))
        device.seq = changes.seq
        if changes.link is not None:
            device.link = changes.link
        if changes.seq_reset:
            device.seq_reset_count += 1
            device.seq_reset_at = changes.at
            device.highest_seq_before_reset = changes.previous_highest_seq

    def existing_gate_ids(self, enterprise_id: int, gate_ids: Iterable[int]) -> set[int]:
        # Read outside transaction() too: the lock keeps a concurrent setup from resizing a dict.
        with self._lock:
            return {gate_id for gate_id in gate_ids if self.gates.get(gate_id) == enterprise_id}

    def resolve_subjects(
        self, enterprise_id: int, refs: Iterable[SubjectRef]
    ) -> dict[SubjectRef, Resolution]:
        with self._lock:
            workers = {
                person.id: person
                for owner, person in self.people.values()
                if owner == enterprise_id
            }
            passes = {p.token: p for owner, p in self.passes.values() if owner == enterprise_id}
        badges = {person.badge_token: person for person in workers.values() if person.badge_token}
        resolved: dict[SubjectRef, Resolution] = {}
        for kind, value in refs:
            person = (
                badges.get(value)
                if kind == "badge"
                else workers.get(int(value))
                if kind == "worker"
                else None
            )
            if person is not None:
                resolved[(kind, value)] = Resolution(worker_id=person.id, active=person.active)
            elif kind == "pass" and value in passes:
                found = passes[value]
                resolved[(kind, value)] = Resolution(
                    pass_id=found.id,
                    active=found.active,
                    valid_from=found.valid_from,
                    valid_until=found.valid_until,
                )
        return resolved

    def seq_owners(self, device_id: int, epoch: int, seqs: Iterable[int]) -> dict[int, str]:
        owners = ((seq, self._by_seq.get((device_id, epoch, seq))) for seq in seqs)
        return {seq: event_id for seq, event_id in owners if event_id is not None}

    def open_batch(self, batch: BatchOpen) -> int:
        batch_ref = len(self.batches) + 1
        self._journal(lambda: self.batches.pop(batch_ref))
        self.batches[batch_ref] = MemoryBatch(batch)
        return batch_ref

    def stage_events(self, rows: list[EventRow]) -> StagedEvents:
        return StagedEvents(rows, [])

    def insert_events(
        self, batch_ref: int | None, epoch: int, staged: StagedEvents
    ) -> dict[str, str]:
        existing: dict[str, str] = {}
        for row in staged.rows:
            stored = self.events.get(row.id)
            if stored is not None:
                existing[row.id] = stored[1].content_hash
                continue
            self._journal(partial(self._forget, row, epoch))
            self.events[row.id] = (batch_ref, row, epoch)
            if row.device_id is not None and row.seq is not None:
                self._by_seq[(row.device_id, epoch, row.seq)] = row.id
        return existing

    def _forget(self, row: EventRow, epoch: int) -> None:
        del self.events[row.id]
        if row.device_id is not None and row.seq is not None:
            del self._by_seq[(row.device_id, epoch, row.seq)]

    def stored_hashes(self, ids: Iterable[str]) -> dict[str, str]:
        with self._lock:
            found = ((event_id, self.events.get(event_id)) for event_id in ids)
            return {event_id: stored[1].content_hash for event_id, stored in found if stored}

    def record_checkin(self, enterprise_id: int, event_id: str, record: CheckinRecord) -> None:
        batch_ref, row, epoch = self.events[event_id]
        self._journal(partial(self.checkins.pop, event_id))
        self.checkins[event_id] = record
        if record.new_visitor is not None:
            visitor_id = 1_000_000 + len(self.visitors)
            self._journal(partial(self.visitors.pop, visitor_id))
            self.visitors[visitor_id] = (enterprise_id, record.new_visitor.name)
            self._journal(partial(self.events.__setitem__, event_id, (batch_ref, row, epoch)))
            self.events[event_id] = (batch_ref, replace(row, visitor_id=visitor_id), epoch)

    def passages(
        self,
        enterprise_id: int,
        subject: SubjectRef,
        direction: str,
        start: datetime,
        end: datetime,
    ) -> list[Passage]:
        kind, value = subject
        with self._lock:
            rows = [row for _, row, _ in self.events.values()]
        return [
            Passage(row.id, row.occurred_at, row.gate_id, row.method)
            for row in rows
            if row.enterprise_id == enterprise_id
            and row.direction == direction
            and start <= row.occurred_at <= end
            and (
                row.worker_id == int(value)
                if kind == "worker"
                else row.worker_id is None and row.subject_value == value
            )
        ]

    def roll_call(self, roll_call_id: str) -> StoredRollCall | None:
        stored = self.roll_calls.get(roll_call_id)
        return None if stored is None else StoredRollCall(stored.device_id, stored.version)

    def save_roll_call(self, row: RollCallRow, *, new: bool) -> bool:
        previous = self.roll_calls.get(row.id)
        if new and previous is not None:
            return False
        if previous is None:
            self._journal(partial(self.roll_calls.pop, row.id))
        else:
            self._journal(partial(self.roll_calls.__setitem__, row.id, previous))
        self.roll_calls[row.id] = row
        return True

    def quarantine(self, batch_ref: int | None, rows: list[QuarantineRow]) -> None:
        if not rows:
            return
        size = len(self.quarantined)
        self._journal(lambda: self.quarantined.__delitem__(slice(size, None)))
        self.quarantined.extend((batch_ref, row) for row in rows)

    def close_batch(self, batch_ref: int, outcome: BatchClose) -> None:
        batch = self.batches[batch_ref]
        self._journal(lambda: setattr(batch, "closed", None))
        batch.closed = outcome

    def roster_version(self, enterprise_id: int) -> int:
        return self._counter.get(enterprise_id, 0)

    def id_card_fields(self, enterprise_id: int) -> list[str]:
        return self.id_card_choices.get(enterprise_id, list(ID_CARD_FIELDS))

    def roster_people(
        self, enterprise_id: int, after: int, upto: int, limit: int
    ) -> list[RosterPerson]:
        changed = [p for owner, p in self.people.values() if owner == enterprise_id]
        window = (p for p in changed if after < p.version <= upto)
        return sorted(window, key=lambda p: p.version)[:limit]

    def roster_passes(
        self, enterprise_id: int, after: int, upto: int, limit: int
    ) -> list[RosterPass]:
        changed = [p for owner, p in self.passes.values() if owner == enterprise_id]
        window = (p for p in changed if after < p.version <= upto)
        return sorted(window, key=lambda p: p.version)[:limit]
