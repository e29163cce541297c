"""Apply a push and answer a roster pull, through a `SyncStore`; no I/O of its own.

Nothing lost, nothing counted twice: every event gets exactly one ack; an event is stored once
under its id whatever the number of resends; an event that cannot be stored is quarantined
with its raw body and a reason; the answer is built only after the store committed.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any

from marshmallow import ValidationError

from sync.schemas import (
    MAX_BODY_BYTES,
    MAX_EVENTS,
    MAX_SEQ,
    PushAnswerSchema,
    PushEnvelopeSchema,
    RosterPageSchema,
    RosterQuerySchema,
    load_event,
)
from sync.store import (
    BatchClose,
    BatchOpen,
    DeviceContext,
    DeviceUpdate,
    EventRow,
    QuarantineRow,
    Resolution,
    RosterPass,
    RosterPerson,
    SeqState,
    SubjectRef,
    SyncStore,
)

FUTURE_TOLERANCE = timedelta(minutes=10)
TIME_RANGE = timedelta(days=366)
# A device whose seq jumps around could grow its gap list without bound; the oldest gaps are
# the least likely to be filled, so they are the ones forgotten.
MAX_MISSING_RANGES = 1000
# Raw bodies of refused events are kept for audit, but an inflated gzip body may hold 8 MiB.
MAX_RAW_CHARS = 64 * 1024
_DETAIL_KEY_CHARS = 64
_UNRESOLVED = Resolution()
_MAX_ECHOED_ID_CHARS = 64

REASONS: dict[str, tuple[str, str]] = {
    "invalid_event": (
        "The event has a broken field; see details.",
        "Sự kiện có trường không hợp lệ; xem chi tiết.",
    ),
    "conflict": (
        "An event with this id is already stored with other content; the stored one is kept.",
        "Đã có sự kiện cùng mã được lưu với nội dung khác; bản đã lưu được giữ nguyên.",
    ),
    "unknown_gate": (
        "The gate does not exist or does not belong to this enterprise.",
        "Cổng không tồn tại hoặc không thuộc doanh nghiệp này.",
    ),
    "future_time": (
        "The event time is more than 10 minutes after the server time.",
        "Thời điểm sự kiện muộn hơn giờ máy chủ quá 10 phút.",
    ),
    "time_out_of_range": (
        "The event time is more than 366 days away from the server time.",
        "Thời điểm sự kiện cách giờ máy chủ hơn 366 ngày.",
    ),
    "seq_repeated": (
        "Another event of this batch has the same seq.",
        "Một sự kiện khác trong lô này có cùng số thứ tự (seq).",
    ),
}

_envelope_schema = PushEnvelopeSchema()
_answer_schema = PushAnswerSchema()
_roster_query_schema = RosterQuerySchema()
_roster_page_schema = RosterPageSchema()


class PushRefused(Exception):
    """The whole request is refused and nothing was stored; the API maps `code` to a status."""

    def __init__(self, code: str, details: Mapping[str, Any]) -> None:
        super().__init__(code)
        self.code = code
        self.details = dict(details)


@dataclass(slots=True)
class _Candidate:
    """A validated event still on its way to being stored."""

    index: int
    event: dict[str, Any]
    content_hash: str
    occurred_utc: datetime
    corrected_at: datetime


class _Verdicts:
    """One ack per event, in the order sent, and the raw events refused."""

    def __init__(self, raw_events: list[Any]) -> None:
        self.raw_events = raw_events
        self.acks: list[dict[str, Any] | None] = [None] * len(raw_events)
        self.refused: dict[int, tuple[str, Any]] = {}
        self.seqs: list[int | None] = [_raw_seq(raw) for raw in raw_events]

    def settled(self, index: int) -> bool:
        return self.acks[index] is not None

    def keep(self, index: int, event_id: str, status: str) -> None:
        self.acks[index] = {"id": event_id, "status": status}

    def reject(self, index: int, reason: str, details: Any = None) -> None:
        message, message_vi = REASONS[reason]
        ack: dict[str, Any] = {
            "id": _echo_id(self.raw_events[index]),
            "status": "rejected",
            "reason": reason,
            "message": message,
            "message_vi": message_vi,
        }
        if details is not None:
            ack["details"] = details
        self.acks[index] = ack
        self.refused[index] = (reason, details)

    def ack_of(self, index: int) -> dict[str, Any]:
        ack = self.acks[index]
        if ack is None:
            raise RuntimeError(f"event {index} was left without an ack")
        return ack

    def counts(self) -> dict[str, int]:
        counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for index in range(len(self.acks)):
            counts[self.ack_of(index)["status"]] += 1
        return counts


def apply_push(
    store: SyncStore,
    device: DeviceContext,
    payload: Any,
    now: datetime,
    *,
    skew_flag_seconds: float = 120.0,
) -> dict[str, Any]:
    """Apply one push in one transaction and return the wire answer, built after commit.

    Raises PushRefused("validation_error" | "payload_too_large") before anything is written.
    """
    started = perf_counter()
    envelope = _load_envelope(payload)
    skew = now - envelope["sent_at"]
    skew_seconds = round(skew.total_seconds(), 3)
    verdicts = _Verdicts(envelope["events"])
    candidates, repeats = _validate_events(device, verdicts, skew, now)
    # Gates and subjects are read before the device lock: on SQLite that lock is the
    # database-wide write lock, which every other push waits for. Reading them under the lock
    # would be no truer: HR can change a badge or a gate the instant after the read either way,
    # and nothing a push writes depends on them being unchanged until commit.
    _check_gates(store, device, candidates, verdicts)
    live = [c for c in candidates if not verdicts.settled(c.index)]
    resolutions = _resolve_subjects(store, device, live)

    with store.transaction():
        seq_state = store.lock_device(device.device_id, now)
        seq_reset = _detect_seq_reset(store, device, seq_state, live)
        epoch = seq_state.epoch + 1 if seq_reset else seq_state.epoch
        batch_ref = store.open_batch(
            BatchOpen(
                enterprise_id=device.enterprise_id,
                device_id=device.device_id,
                batch_id=str(envelope["batch_id"]),
                received_at=now,
                sent_at=envelope["sent_at"],
                skew_seconds=skew_seconds,
                app_version=envelope["app_version"],
                backlog=envelope["backlog"],
                oldest_pending_at=envelope["oldest_pending_at"],
                event_count=len(verdicts.raw_events),
            )
        )
        flagged = abs(skew_seconds) > skew_flag_seconds
        rows = _event_rows(
            device, live, resolutions, epoch, now, ("clock_skew",) if flagged else ()
        )
        existing = store.insert_events(batch_ref, rows) if rows else {}
        stored_before = _ack_stored(live, existing, verdicts)
        _settle_repeats(repeats, verdicts, stored_before)

        seen = (
            seq
            for index, seq in enumerate(verdicts.seqs)
            if seq is not None and index not in stored_before
        )
        new_state = advance_seq_state(SeqState(epoch, 0, ()) if seq_reset else seq_state, seen)
        store.quarantine(batch_ref, _quarantine_rows(device, verdicts, now))
        store.update_device(
            device.device_id,
            DeviceUpdate(
                seq=new_state,
                seq_reset=seq_reset,
                previous_highest_seq=seq_state.highest_seq,
                synced_at=now,
                skew_seconds=skew_seconds,
                app_version=envelope["app_version"],
                backlog=envelope["backlog"],
                oldest_pending_at=envelope["oldest_pending_at"],
            ),
        )
        counts = verdicts.counts()
        store.close_batch(
            batch_ref,
            BatchClose(
                accepted=counts["accepted"],
                duplicate=counts["duplicate"],
                rejected=counts["rejected"],
                highest_seq=new_state.highest_seq,
                seq_reset=seq_reset,
                duration_ms=round((perf_counter() - started) * 1000, 3),
            ),
        )
    return _answer_schema.dump(
        {
            "batch_id": str(envelope["batch_id"]),
            "server_time": now,
            "skew_seconds": skew_seconds,
            "highest_seq": new_state.highest_seq,
            "missing_ranges": [list(r) for r in new_state.missing],
            "seq_reset": seq_reset,
            "acks": verdicts.acks,
        }
    )


def _load_envelope(payload: Any) -> dict[str, Any]:
    if isinstance(payload, dict):
        events = payload.get("events")
        if isinstance(events, list) and len(events) > MAX_EVENTS:
            raise PushRefused(
                "payload_too_large",
                {
                    "max_events": MAX_EVENTS,
                    "max_bytes": MAX_BODY_BYTES,
                    "events": len(events),
                },
            )
    try:
        return _envelope_schema.load(payload)
    except ValidationError as error:
        raise PushRefused("validation_error", short_messages(error.messages)) from error


def _validate_events(
    device: DeviceContext, verdicts: _Verdicts, skew: timedelta, now: datetime
) -> tuple[list[_Candidate], dict[int, int]]:
    """Validate each event alone; return the valid ones and {repeat index: first index}."""
    candidates: list[_Candidate] = []
    first_by_id: dict[str, _Candidate] = {}
    seq_taken: set[int] = set()
    repeats: dict[int, int] = {}
    for index, raw in enumerate(verdicts.raw_events):
        try:
            event = load_event(raw)
        except ValidationError as error:
            verdicts.reject(index, "invalid_event", short_messages(error.messages))
            continue
        # The canonical text form, once: "urn:uuid:…" and upper case are the same id.
        event_id = event["id"] = str(event["id"])
        content_hash = content_hash_of(device.device_id, event)
        first = first_by_id.get(event_id)
        if first is not None:
            if first.content_hash == content_hash:
                repeats[index] = first.index
            else:
                verdicts.reject(index, "conflict")
            continue
        if event["seq"] in seq_taken:
            verdicts.reject(index, "seq_repeated")
            continue
        seq_taken.add(event["seq"])
        times = _true_times(event["occurred_at"], skew, now)
        if isinstance(times, str):
            verdicts.reject(index, times)
            continue
        candidate = _Candidate(index, event, content_hash, *times)
        first_by_id[event_id] = candidate
        candidates.append(candidate)
    return candidates, repeats


def content_hash_of(device_id: int, event: Mapping[str, Any]) -> str:
    """Hash of what makes two events with one id "the same": the device and every field sent.

    Free-text parts carry their length, so no two different events share the hashed text.
    """
    subject = event["subject"]
    note = event["note"]
    visitor = event["visitor"]
    canonical = "|".join(
        (
            str(device_id),
            event["id"],
            str(event["seq"]),
            event["occurred_at"].isoformat(),
            str(event["gate_id"]),
            event["direction"],
            subject["kind"],
            f"{len(subject['value'])}:{subject['value']}",
            event["method"],
            "-" if note is None else f"{len(note)}:{note}",
            "-" if not visitor else json.dumps(sorted(visitor.items()), ensure_ascii=False),
        )
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _true_times(
    occurred: datetime, skew: timedelta, now: datetime
) -> tuple[datetime, datetime] | str:
    """The time in UTC and corrected by the batch's skew, or why it cannot be true."""
    try:
        occurred_utc = occurred.astimezone(UTC)
        corrected = occurred_utc + skew
    except OverflowError:
        return "time_out_of_range"
    distance = corrected - now
    if abs(distance) > TIME_RANGE:
        return "time_out_of_range"
    if distance > FUTURE_TOLERANCE:
        return "future_time"
    return occurred_utc, corrected


def _check_gates(
    store: SyncStore,
    device: DeviceContext,
    candidates: list[_Candidate],
    verdicts: _Verdicts,
) -> None:
    wanted = {c.event["gate_id"] for c in candidates if not verdicts.settled(c.index)}
    if not wanted:
        return
    known = store.existing_gate_ids(device.enterprise_id, wanted)
    for candidate in candidates:
        if not verdicts.settled(candidate.index) and candidate.event["gate_id"] not in known:
            verdicts.reject(candidate.index, "unknown_gate")


def _detect_seq_reset(
    store: SyncStore, device: DeviceContext, state: SeqState, live: list[_Candidate]
) -> bool:
    """A new event reusing a seq another stored event holds means the device counts from 1 again.

    Only seqs at or below the highest stored one can collide, so a normal push (all new seqs
    above it) costs no query.
    """
    at_or_below = {
        c.event["seq"]: c.event["id"] for c in live if c.event["seq"] <= state.highest_seq
    }
    if not at_or_below:
        return False
    owners = store.seq_owners(device.device_id, state.epoch, at_or_below)
    return any(owners.get(seq, event_id) != event_id for seq, event_id in at_or_below.items())


def _normalised_ref(kind: str, value: str) -> SubjectRef | None:
    """The key a subject is looked up by; None for free text, which names nobody we know."""
    if kind == "text":
        return None
    value = value.strip()
    if kind == "worker":
        # Worker ids are database ids; str.isdigit alone would let "²" or "١" through.
        plain = value.isascii() and value.isdigit() and len(value) <= 18
        return (kind, str(int(value))) if plain else None
    prefix = "GL1:W:" if kind == "badge" else "GL1:V:"
    upper = value.upper()
    return (kind, upper.removeprefix(prefix))


def _resolve_subjects(
    store: SyncStore, device: DeviceContext, live: list[_Candidate]
) -> list[Resolution]:
    """Who each live event names, in the order of `live`; unknown subjects stay unresolved."""
    refs = [_normalised_ref(c.event["subject"]["kind"], c.event["subject"]["value"]) for c in live]
    wanted = {ref for ref in refs if ref is not None}
    resolved = store.resolve_subjects(device.enterprise_id, wanted) if wanted else {}
    return [_UNRESOLVED if ref is None else resolved.get(ref, _UNRESOLVED) for ref in refs]


def _event_rows(
    device: DeviceContext,
    live: list[_Candidate],
    resolutions: list[Resolution],
    epoch: int,
    now: datetime,
    batch_flags: tuple[str, ...],
) -> list[EventRow]:
    rows = []
    for candidate, resolution in zip(live, resolutions, strict=True):
        event = candidate.event
        offset = event["occurred_at"].utcoffset()
        rows.append(
            EventRow(
                id=event["id"],
                enterprise_id=device.enterprise_id,
                device_id=device.device_id,
                gate_id=event["gate_id"],
                seq_epoch=epoch,
                seq=event["seq"],
                occurred_at=candidate.occurred_utc,
                occurred_offset_minutes=int(offset.total_seconds() // 60) if offset else 0,
                received_at=now,
                corrected_at=candidate.corrected_at,
                direction=event["direction"],
                subject_kind=event["subject"]["kind"],
                subject_value=event["subject"]["value"],
                worker_id=resolution.worker_id,
                visitor_id=resolution.visitor_id,
                pass_id=resolution.pass_id,
                flags=batch_flags + _subject_flags(resolution, candidate.corrected_at),
                method=event["method"],
                note=event["note"],
                visitor=event["visitor"],
                content_hash=candidate.content_hash,
            )
        )
    return rows


def _subject_flags(resolution: Resolution, corrected_at: datetime) -> tuple[str, ...]:
    """Who should not have passed, or not then: recorded all the same, flagged for HR."""
    if resolution.worker_id is not None and not resolution.active:
        return ("inactive_worker",)
    if resolution.pass_id is not None and not (
        resolution.active
        and resolution.valid_from is not None
        and resolution.valid_until is not None
        and resolution.valid_from <= corrected_at <= resolution.valid_until
    ):
        return ("expired_pass",)
    return ()


def _ack_stored(
    live: list[_Candidate], existing: Mapping[str, str], verdicts: _Verdicts
) -> set[int]:
    """Ack what the insert did; return the indexes of events that were stored before."""
    stored_before: set[int] = set()
    for candidate in live:
        event_id = candidate.event["id"]
        stored_hash = existing.get(event_id)
        if stored_hash is None:
            verdicts.keep(candidate.index, event_id, "accepted")
        elif stored_hash == candidate.content_hash:
            verdicts.keep(candidate.index, event_id, "duplicate")
            stored_before.add(candidate.index)
        else:
            verdicts.reject(candidate.index, "conflict")
    return stored_before


def _settle_repeats(repeats: dict[int, int], verdicts: _Verdicts, stored_before: set[int]) -> None:
    """An identical copy of an event inside one batch shares the verdict of the first copy."""
    for index, first in repeats.items():
        ack = verdicts.ack_of(first)
        if ack["status"] == "rejected":
            verdicts.reject(index, ack["reason"], ack.get("details"))
        else:
            verdicts.keep(index, ack["id"], "duplicate")
            stored_before.add(index)


def advance_seq_state(state: SeqState, seen: Iterable[int]) -> SeqState:
    """Mark `seen` seqs as received: raise the highest seq, open gaps below it, fill gaps."""
    seqs = sorted(set(seen))
    if not seqs:
        return state
    highest = max(state.highest_seq, seqs[-1])
    ranges = list(state.missing)
    if highest > state.highest_seq + 1:
        ranges.append((state.highest_seq + 1, highest - 1))
    missing: list[tuple[int, int]] = []
    pos = 0
    for low, high in ranges:
        while pos < len(seqs) and seqs[pos] < low:
            pos += 1
        start = low
        while pos < len(seqs) and seqs[pos] <= high:
            if seqs[pos] > start:
                missing.append((start, seqs[pos] - 1))
            start = seqs[pos] + 1
            pos += 1
        if start <= high:
            missing.append((start, high))
    return SeqState(state.epoch, highest, tuple(missing[-MAX_MISSING_RANGES:]))


def _quarantine_rows(
    device: DeviceContext, verdicts: _Verdicts, now: datetime
) -> list[QuarantineRow]:
    rows = []
    for index, (reason, details) in verdicts.refused.items():
        raw = json.dumps(verdicts.raw_events[index], ensure_ascii=True, separators=(",", ":"))
        detail = json.dumps(details, ensure_ascii=True) if details is not None else ""
        if len(raw) > MAX_RAW_CHARS:
            raw = raw[:MAX_RAW_CHARS]
            detail = (detail + " " if detail else "") + f"raw body cut at {MAX_RAW_CHARS} chars"
        rows.append(
            QuarantineRow(
                enterprise_id=device.enterprise_id,
                device_id=device.device_id,
                event_id=_raw_id(verdicts.raw_events[index]),
                seq=verdicts.seqs[index],
                reason=reason,
                detail=detail,
                raw=raw,
                received_at=now,
            )
        )
    return rows


def _raw_id(raw: Any) -> str | None:
    """The event's id if it is a well-formed UUID, in canonical form."""
    value = raw.get("id") if isinstance(raw, dict) else None
    if not isinstance(value, str) or len(value) > _MAX_ECHOED_ID_CHARS:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _echo_id(raw: Any) -> str | None:
    """The id as the device sent it, so it can match the ack; None when it is not a short string."""
    value = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(value, str) and len(value) <= _MAX_ECHOED_ID_CHARS:
        return value
    return None


def _raw_seq(raw: Any) -> int | None:
    """The seq of an event, even a broken one, when it is a usable seq (it counts as received)."""
    value = raw.get("seq") if isinstance(raw, dict) else None
    if type(value) is int and 1 <= value <= MAX_SEQ:
        return value
    return None


def short_messages(messages: Any) -> Any:
    """Validation messages with field names cut short: an unknown key may be a megabyte long."""
    if isinstance(messages, dict):
        return {str(k)[:_DETAIL_KEY_CHARS]: short_messages(v) for k, v in messages.items()}
    if isinstance(messages, list):
        return [short_messages(item) for item in messages]
    return messages


def _version(item: RosterPerson | RosterPass) -> int:
    return item.version


def pull_roster(
    store: SyncStore, device: DeviceContext, query: Mapping[str, Any], now: datetime
) -> dict[str, Any]:
    """One page of the enterprise's people and passes changed since the cursor."""
    try:
        params = _roster_query_schema.load(query)
    except ValidationError as error:
        raise PushRefused("validation_error", short_messages(error.messages)) from error
    cursor, limit = params["cursor"], params["limit"]
    # Reading the counter first and nothing above it keeps the two queries on one cut: a person
    # numbered 101 committing between them cannot be skipped by a pass numbered 102.
    upto = store.roster_version(device.enterprise_id)
    if cursor > upto:
        # A cursor from the future means the database was restored from a backup: start over.
        cursor = 0
    # People and passes share the enterprise's change counter, so one cursor covers both.
    people = store.roster_people(device.enterprise_id, cursor, upto, limit + 1)
    passes = store.roster_passes(device.enterprise_id, cursor, upto, limit + 1)
    sources: tuple[Iterable[RosterPerson | RosterPass], ...] = (people, passes)
    merged = list(heapq.merge(*sources, key=_version))
    page = merged[:limit]
    return _roster_page_schema.dump(
        {
            "people": [item for item in page if isinstance(item, RosterPerson)],
            "passes": [item for item in page if isinstance(item, RosterPass)],
            "next_cursor": page[-1].version if page else cursor,
            "has_more": len(merged) > limit,
            "server_time": now,
            "id_card_fields": store.id_card_fields(device.enterprise_id),
        }
    )
