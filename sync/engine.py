"""Apply a push and answer a roster pull, through a `SyncStore`; no I/O of its own.

Nothing lost, nothing counted twice: every event gets exactly one ack; an event is stored once
under its id whatever the number of resends; an event that cannot be stored is quarantined
with its raw body and a reason; the answer leaves only after the store committed.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from time import perf_counter
from typing import Any

from marshmallow import ValidationError

from sync.schemas import (
    EARLIEST_TIME,
    LATEST_TIME,
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
    CheckinRecord,
    DeviceContext,
    DeviceUpdate,
    EventRow,
    LinkReport,
    QuarantineRow,
    Resolution,
    RollCallEntryRow,
    RollCallRow,
    RosterPass,
    RosterPerson,
    SeqState,
    StagedEvents,
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
# Hashed in place of the device of records no tablet made (self check-in, paper): never a
# device id, so they never hash like a tablet's event.
NO_DEVICE = 0

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
        "The event time is more than 366 days away from the server time, or outside 1970-2099.",
        "Thời điểm sự kiện cách giờ máy chủ hơn 366 ngày, hoặc nằm ngoài khoảng 1970-2099.",
    ),
    "seq_repeated": (
        "Another event of this batch has the same seq.",
        "Một sự kiện khác trong lô này có cùng số thứ tự (seq).",
    ),
    "too_old": (
        "The event is older than this channel accepts.",
        "Sự kiện cũ hơn mức kênh này chấp nhận.",
    ),
    "id_taken": (
        "This id belongs to a roll call of another tablet.",
        "Mã này thuộc về một lần điểm danh của máy tính bảng khác.",
    ),
    # Refusals of self check-in, as HR reads them in the quarantine list.
    "wrong_pair": (
        "Self check-in: no active worker has this employee code and phone.",
        "Tự khai báo: không có công nhân đang làm việc nào có mã nhân viên và số điện thoại này.",
    ),
    "not_at_gate": (
        "Self check-in: the page was not opened at the gate's screen at that time.",
        "Tự khai báo: trang không được mở tại màn hình của cổng vào lúc đó.",
    ),
    "bad_time": (
        "The time cannot be true (in the future, or outside the accepted range).",
        "Thời điểm không thể đúng (ở tương lai, hoặc ngoài khoảng chấp nhận).",
    ),
    "unknown_question": (
        "Self check-in: an answer is to a question this enterprise does not have.",
        "Tự khai báo: có câu trả lời cho câu hỏi mà doanh nghiệp này không có.",
    ),
    "bad_answer": (
        "Self check-in: a yes/no question got another answer.",
        "Tự khai báo: câu hỏi có/không nhận câu trả lời khác.",
    ),
    "declaration_missing": (
        "Self check-in: an entry without the health declaration's answers.",
        "Tự khai báo: lượt vào thiếu câu trả lời khai báo y tế.",
    ),
    # Refusals of paper backfill lines.
    "missing_gate": ("Paper line: no gate.", "Dòng sổ giấy: không có cổng."),
    "unknown_code": (
        "Paper line: no worker of the roster has this employee code.",
        "Dòng sổ giấy: không công nhân nào trong danh sách có mã nhân viên này.",
    ),
    "missing_person": (
        "Paper line: neither an employee code nor a name.",
        "Dòng sổ giấy: không có mã nhân viên cũng không có tên.",
    ),
    "too_long": ("Paper line: the name is too long.", "Dòng sổ giấy: tên quá dài."),
    "bad_direction": (
        "Paper line: the direction must be in or out.",
        "Dòng sổ giấy: hướng phải là vào hoặc ra.",
    ),
}

_envelope_schema = PushEnvelopeSchema()
_answer_schema = PushAnswerSchema()
_roster_query_schema = RosterQuerySchema()
_roster_page_schema = RosterPageSchema()

# The channels gate records arrive by; every one of them enters through `ingest`.
PUSH = "push"
FILE = "file"
SELF = "self"
PAPER = "paper"
ROLL_CALL = "roll_call"


class PushRefused(Exception):
    """The whole request is refused and nothing was stored; the API maps `code` to a status."""

    def __init__(self, code: str, details: Mapping[str, Any]) -> None:
        super().__init__(code)
        self.code = code
        self.details = dict(details)


@dataclass(frozen=True, slots=True)
class Policy:
    """The thresholds in force for one request: the administrator's, the environment's by default.

    Resolved once per request at the edge and handed to the engine, so that a push, a file, a
    check-in and every page judge by the same numbers.
    """

    skew_flag_seconds: float = 120.0


@dataclass(frozen=True, slots=True)
class Source:
    """Who hands the engine its records; the rules that differ by channel follow from it alone."""

    channel: str
    enterprise_id: int
    # Tablets number their events; a self check-in and a paper line have no device and no seq.
    device_id: int | None = None
    # A check-in queued on a phone for longer is no longer worth recording as a time.
    max_age: timedelta = TIME_RANGE

    @classmethod
    def tablet(cls, device: DeviceContext, channel: str = PUSH) -> Source:
        return cls(channel, device.enterprise_id, device.device_id)

    @property
    def numbered(self) -> bool:
        return self.device_id is not None

    @property
    def heard(self) -> bool:
        """Only a push is the tablet speaking: a file HR uploads says nothing of its link."""
        return self.channel == PUSH


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a channel could not turn its input into an event; it is quarantined all the same."""

    reason: str
    details: Any = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One record as a channel hands it over: its raw input, kept for quarantine, and either the
    event it parsed to (in the wire event's shape) or why the channel refused it."""

    raw: Any
    event: dict[str, Any] | None = None
    refusal: Refusal | None = None
    # Facts only the channel knows: flags for HR, what else makes two copies "the same", the
    # visitor it already identified, and what a self check-in stores beside its event.
    flags: tuple[str, ...] = ()
    hash_extra: str = ""
    visitor_id: int | None = None
    checkin: CheckinRecord | None = None


@dataclass(frozen=True, slots=True)
class Envelope:
    """What a tablet said about a batch: recorded on its SyncBatch row."""

    batch_id: str
    sent_at: datetime
    app_version: str
    backlog: int
    oldest_pending_at: datetime | None


@dataclass(frozen=True, slots=True)
class Delivery:
    """Records that arrived together, sent by one clock (whose skew corrects their times)."""

    entries: list[Entry]
    sent_at: datetime
    envelope: Envelope | None = None


@dataclass(frozen=True, slots=True)
class Receipt:
    """The engine's answer for one delivery, built after commit."""

    acks: list[dict[str, Any]]
    skew_seconds: float
    highest_seq: int
    missing: tuple[tuple[int, int], ...]
    seq_reset: bool

    def wire(self, batch_id: str, now: datetime) -> dict[str, Any]:
        """The push answer of PROTOCOL.md §5.4."""
        return _answer_schema.dump(
            {
                "batch_id": batch_id,
                "server_time": now,
                "skew_seconds": self.skew_seconds,
                "highest_seq": self.highest_seq,
                "missing_ranges": [list(r) for r in self.missing],
                "seq_reset": self.seq_reset,
                "acks": self.acks,
            }
        )


@dataclass(slots=True)
class _Candidate:
    """A validated event still on its way to being stored."""

    index: int
    entry: Entry
    event: dict[str, Any]
    content_hash: str
    occurred_utc: datetime
    corrected_at: datetime


class _Verdicts:
    """One ack per entry, in the order sent, and the raw entries refused."""

    def __init__(self, entries: list[Entry], numbered: bool) -> None:
        self.entries = entries
        self.acks: list[dict[str, Any] | None] = [None] * len(entries)
        self.refused: dict[int, tuple[str, Any]] = {}
        self.seqs: list[int | None] = [
            _raw_seq(entry.raw) if numbered else None for entry in entries
        ]

    def settled(self, index: int) -> bool:
        return self.acks[index] is not None

    def keep(self, index: int, status: str) -> None:
        self.acks[index] = {"id": self._echo(index), "status": status}

    def reject(self, index: int, reason: str, details: Any = None) -> None:
        message, message_vi = REASONS.get(reason, (reason, reason))
        ack: dict[str, Any] = {
            "id": self._echo(index),
            "status": "rejected",
            "reason": reason,
            "message": message,
            "message_vi": message_vi,
        }
        if details is not None:
            ack["details"] = details
        self.acks[index] = ack
        self.refused[index] = (reason, details)

    def _echo(self, index: int) -> str | None:
        entry = self.entries[index]
        echoed = _echo_id(entry.raw)
        if echoed is None and entry.event is not None:
            return str(entry.event["id"])
        return echoed

    def acks_list(self) -> list[dict[str, Any]]:
        return [self.ack_of(index) for index in range(len(self.acks))]

    def ack_of(self, index: int) -> dict[str, Any]:
        ack = self.acks[index]
        if ack is None:
            raise RuntimeError(f"entry {index} was left without an ack")
        return ack

    def counts(self) -> dict[str, int]:
        counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
        for index in range(len(self.acks)):
            counts[self.ack_of(index)["status"]] += 1
        return counts


@dataclass(slots=True)
class _Prepared:
    """A delivery checked as far as it can be without writing."""

    delivery: Delivery
    verdicts: _Verdicts
    skew_seconds: float
    candidates: list[_Candidate]
    repeats: dict[int, int]
    live: list[_Candidate]
    staged: StagedEvents | None


def apply_push(
    store: SyncStore,
    device: DeviceContext,
    payload: Any,
    now: datetime,
    *,
    policy: Policy = Policy(),
) -> dict[str, Any]:
    """Apply one push in one transaction and return the wire answer, sent only after commit.

    Raises PushRefused("validation_error" | "payload_too_large") before anything is written.
    """
    envelope = _load_envelope(payload)
    [receipt] = ingest(store, Source.tablet(device), policy, [tablet_delivery(envelope)], now)
    return receipt.wire(str(envelope["batch_id"]), now)


def apply_tablet_file(
    store: SyncStore,
    device: DeviceContext,
    bodies: Iterable[Any],
    now: datetime,
    *,
    policy: Policy = Policy(),
    finish: Callable[[list[dict[str, Any]]], None] | None = None,
) -> list[dict[str, Any]]:
    """Apply the push bodies of a tablet's waiting-events file in one transaction, as pushes of
    that tablet that do not speak for its link; one wire answer per body. `finish` gets the
    answers inside the transaction, for what the channel writes with them (its audit line).

    Raises PushRefused before anything is written when any body is refused whole.
    """
    envelopes = [_load_envelope(body) for body in bodies]
    deliveries = [tablet_delivery(envelope) for envelope in envelopes]
    answers: list[dict[str, Any]] = []

    def answer(receipts: list[Receipt]) -> None:
        answers.extend(
            receipt.wire(str(envelope["batch_id"]), now)
            for receipt, envelope in zip(receipts, envelopes, strict=True)
        )
        if finish is not None:
            finish(answers)

    ingest(store, Source.tablet(device, FILE), policy, deliveries, now, finish=answer)
    return answers


def tablet_delivery(envelope: Mapping[str, Any]) -> Delivery:
    """A validated push envelope as a delivery: each event loaded alone, or refused."""
    entries = []
    for raw in envelope["events"]:
        try:
            event = load_event(raw)
        except ValidationError as error:
            entries.append(
                Entry(raw, refusal=Refusal("invalid_event", short_messages(error.messages)))
            )
            continue
        # The canonical text form, once: "urn:uuid:…" and upper case are the same id.
        event["id"] = str(event["id"])
        entries.append(Entry(raw, event))
    return Delivery(
        entries,
        envelope["sent_at"],
        Envelope(
            str(envelope["batch_id"]),
            envelope["sent_at"],
            envelope["app_version"],
            envelope["backlog"],
            envelope["oldest_pending_at"],
        ),
    )


def ingest(
    store: SyncStore,
    source: Source,
    policy: Policy,
    deliveries: list[Delivery],
    now: datetime,
    *,
    finish: Callable[[list[Receipt]], None] | None = None,
) -> list[Receipt]:
    """Store what `deliveries` bring, in one transaction: the one way gate records come in.

    Every channel's records pass the same checks (time, gate, id), get the same content hash,
    duplicate and conflict rules and subject resolution; whatever is refused is quarantined with
    its raw input and reason; a tablet's seqs and gaps are kept. `finish` runs inside the
    transaction with the receipts, for what the channel writes with them (its audit line), so
    that one unit of work commits whole or not at all. Receipts are returned after commit.
    """
    started = perf_counter()
    prepared = [_prepare(source, delivery, now) for delivery in deliveries]
    # Gates and subjects are read, and the rows built and encoded, before the device lock: on
    # SQLite that lock is the database-wide write lock, which every other push waits for.
    # Reading them under the lock would be no truer: HR can change a badge or a gate the instant
    # after the read either way, and nothing a push writes depends on them being unchanged until
    # commit. Only the seq epoch, read under the lock, is left for the insert to add.
    _check_gates(store, source, prepared)
    for each in prepared:
        each.live = [c for c in each.candidates if not each.verdicts.settled(c.index)]
        resolutions = _resolve_subjects(store, source, each.live)
        flagged = abs(each.skew_seconds) > policy.skew_flag_seconds
        rows = _event_rows(source, each.live, resolutions, now, ("clock_skew",) if flagged else ())
        each.staged = store.stage_events(rows)

    receipts = []
    with store.transaction():
        state = None
        if source.device_id is not None:
            state = store.lock_device(source.device_id, now if source.heard else None)
        for each in prepared:
            receipt, state = _write(store, source, each, state, now, started)
            receipts.append(receipt)
        if finish is not None:
            finish(receipts)
    return receipts


def _prepare(source: Source, delivery: Delivery, now: datetime) -> _Prepared:
    skew = now - delivery.sent_at
    verdicts = _Verdicts(delivery.entries, source.numbered)
    candidates, repeats = _validate_events(source, verdicts, skew, now)
    return _Prepared(
        delivery, verdicts, round(skew.total_seconds(), 3), candidates, repeats, [], None
    )


def _write(
    store: SyncStore,
    source: Source,
    prepared: _Prepared,
    state: SeqState | None,
    now: datetime,
    started: float,
) -> tuple[Receipt, SeqState | None]:
    """Write one delivery inside the transaction; return its receipt and the device's seq state."""
    verdicts, live = prepared.verdicts, prepared.live
    seq_reset = state is not None and _detect_seq_reset(store, source, state, live)
    epoch = 0 if state is None else state.epoch + 1 if seq_reset else state.epoch
    envelope = prepared.delivery.envelope
    batch_ref = None
    if envelope is not None and source.device_id is not None:
        batch_ref = store.open_batch(
            BatchOpen(
                enterprise_id=source.enterprise_id,
                device_id=source.device_id,
                batch_id=envelope.batch_id,
                received_at=now,
                sent_at=envelope.sent_at,
                skew_seconds=prepared.skew_seconds,
                app_version=envelope.app_version,
                backlog=envelope.backlog,
                oldest_pending_at=envelope.oldest_pending_at,
                event_count=len(verdicts.entries),
            )
        )
    staged = prepared.staged
    existing = store.insert_events(batch_ref, epoch, staged) if staged and staged.rows else {}
    stored_before = _ack_stored(live, existing, verdicts)
    _settle_repeats(prepared.repeats, verdicts, stored_before)
    for candidate in live:
        record = candidate.entry.checkin
        if record is not None and verdicts.ack_of(candidate.index)["status"] == "accepted":
            store.record_checkin(source.enterprise_id, candidate.event["id"], record)
    store.quarantine(batch_ref, _quarantine_rows(source, verdicts, now))
    if state is None or source.device_id is None:
        return Receipt(verdicts.acks_list(), prepared.skew_seconds, 0, (), False), None

    # Only an id the server never stored before moves the seq count: a resend, even a changed
    # one, carries a seq of the count it was made in, maybe one before a storage wipe.
    seen = (
        seq
        for index, seq in enumerate(verdicts.seqs)
        if seq is not None and index not in stored_before
    )
    new_state = advance_seq_state(SeqState(epoch, 0, ()) if seq_reset else state, seen)
    stored = sum(c.index not in stored_before for c in live) if source.numbered else 0
    link = None
    if source.heard and envelope is not None:
        link = LinkReport(
            synced_at=now,
            skew_seconds=prepared.skew_seconds,
            app_version=envelope.app_version,
            backlog=envelope.backlog,
            oldest_pending_at=envelope.oldest_pending_at,
        )
    store.update_device(
        source.device_id,
        DeviceUpdate(
            seq=new_state,
            seq_reset=seq_reset,
            previous_highest_seq=state.highest_seq,
            at=now,
            link=link,
            stored=stored,
        ),
    )
    if batch_ref is not None:
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
    receipt = Receipt(
        verdicts.acks_list(),
        prepared.skew_seconds,
        new_state.highest_seq,
        new_state.missing,
        seq_reset,
    )
    return receipt, new_state


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
    source: Source, verdicts: _Verdicts, skew: timedelta, now: datetime
) -> tuple[list[_Candidate], dict[int, int]]:
    """Check each entry alone; return the valid ones and {repeat index: first index}."""
    candidates: list[_Candidate] = []
    first_by_id: dict[str, tuple[int, str]] = {}
    seq_taken: set[int] = set()
    repeats: dict[int, int] = {}
    device_id = source.device_id or NO_DEVICE
    for index, entry in enumerate(verdicts.entries):
        event = entry.event
        if entry.refusal is not None or event is None:
            refusal = entry.refusal or Refusal("invalid_event")
            verdicts.reject(index, refusal.reason, refusal.details)
            continue
        event_id = event["id"]
        content_hash = content_hash_of(device_id, event)
        if entry.hash_extra:
            content_hash = hashlib.sha256(f"{content_hash}|{entry.hash_extra}".encode()).hexdigest()
        first = first_by_id.get(event_id)
        if first is not None:
            # An identical copy shares the first copy's outcome, whatever refused that one.
            if first[1] == content_hash:
                repeats[index] = first[0]
            else:
                verdicts.reject(index, "conflict")
            continue
        first_by_id[event_id] = (index, content_hash)
        if source.numbered:
            if event["seq"] in seq_taken:
                verdicts.reject(index, "seq_repeated")
                continue
            seq_taken.add(event["seq"])
        times = true_times(event["occurred_at"], skew, now, source.max_age)
        if isinstance(times, str):
            verdicts.reject(index, times)
            continue
        candidates.append(_Candidate(index, entry, event, content_hash, *times))
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


def true_times(
    occurred: datetime, skew: timedelta, now: datetime, max_age: timedelta = TIME_RANGE
) -> tuple[datetime, datetime] | str:
    """The time in UTC and corrected by the sender's skew, or why it cannot be true."""
    # Outside the window a time cannot be stored and shown (PROTOCOL.md §1).
    if not EARLIEST_TIME <= occurred < LATEST_TIME:
        return "time_out_of_range"
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
    if -distance > max_age:
        return "too_old"
    return occurred_utc, corrected


def _check_gates(store: SyncStore, source: Source, prepared: list[_Prepared]) -> None:
    wanted = {
        c.event["gate_id"]
        for each in prepared
        for c in each.candidates
        if not each.verdicts.settled(c.index)
    }
    if not wanted:
        return
    known = store.existing_gate_ids(source.enterprise_id, wanted)
    for each in prepared:
        for candidate in each.candidates:
            if (
                not each.verdicts.settled(candidate.index)
                and candidate.event["gate_id"] not in known
            ):
                each.verdicts.reject(candidate.index, "unknown_gate")


def _detect_seq_reset(
    store: SyncStore, source: Source, state: SeqState, live: list[_Candidate]
) -> bool:
    """A never-stored id reusing a seq another stored event holds means the device counts from 1
    again. A resend (identical or changed) of a stored id reveals nothing: it may come from
    before a wipe, when its seq was another event's.

    Only seqs at or below the highest stored one can collide, so a normal push (all new seqs
    above it) costs no query.
    """
    at_or_below = {
        c.event["seq"]: c.event["id"] for c in live if c.event["seq"] <= state.highest_seq
    }
    if not at_or_below or source.device_id is None:
        return False
    owners = store.seq_owners(source.device_id, state.epoch, at_or_below)
    claimed = {
        seq: event_id
        for seq, event_id in at_or_below.items()
        if owners.get(seq, event_id) != event_id
    }
    if not claimed:
        return False
    stored = store.stored_hashes(claimed.values())
    return any(event_id not in stored for event_id in claimed.values())


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


def _resolve_subjects(store: SyncStore, source: Source, live: list[_Candidate]) -> list[Resolution]:
    """Who each live event names, in the order of `live`; unknown subjects stay unresolved."""
    refs = [_normalised_ref(c.event["subject"]["kind"], c.event["subject"]["value"]) for c in live]
    wanted = {ref for ref in refs if ref is not None}
    resolved = store.resolve_subjects(source.enterprise_id, wanted) if wanted else {}
    resolutions = []
    for candidate, ref in zip(live, refs, strict=True):
        if candidate.entry.visitor_id is not None:
            resolutions.append(Resolution(visitor_id=candidate.entry.visitor_id))
        else:
            resolutions.append(_UNRESOLVED if ref is None else resolved.get(ref, _UNRESOLVED))
    return resolutions


def _event_rows(
    source: Source,
    live: list[_Candidate],
    resolutions: list[Resolution],
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
                enterprise_id=source.enterprise_id,
                device_id=source.device_id,
                gate_id=event["gate_id"],
                seq=event["seq"] if source.numbered else None,
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
                flags=candidate.entry.flags
                + batch_flags
                + _subject_flags(resolution, candidate.corrected_at),
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
    """Ack what the insert did; return the indexes of events whose id was stored before."""
    stored_before: set[int] = set()
    for candidate in live:
        stored_hash = existing.get(candidate.event["id"])
        if stored_hash is None:
            verdicts.keep(candidate.index, "accepted")
            continue
        stored_before.add(candidate.index)
        if stored_hash == candidate.content_hash:
            verdicts.keep(candidate.index, "duplicate")
        else:
            verdicts.reject(candidate.index, "conflict")
    return stored_before


def _settle_repeats(repeats: dict[int, int], verdicts: _Verdicts, stored_before: set[int]) -> None:
    """An identical copy of an event inside one delivery shares the verdict of the first copy."""
    for index, first in repeats.items():
        ack = verdicts.ack_of(first)
        if ack["status"] == "rejected":
            verdicts.reject(index, ack["reason"], ack.get("details"))
        else:
            verdicts.keep(index, "duplicate")
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


def _quarantine_rows(source: Source, verdicts: _Verdicts, now: datetime) -> list[QuarantineRow]:
    rows = []
    for index, (reason, details) in verdicts.refused.items():
        raw_input = verdicts.entries[index].raw
        raw = json.dumps(raw_input, ensure_ascii=True, separators=(",", ":"), default=str)
        detail = json.dumps(details, ensure_ascii=True, default=str) if details is not None else ""
        if len(raw) > MAX_RAW_CHARS:
            raw = raw[:MAX_RAW_CHARS]
            detail = (detail + " " if detail else "") + f"raw body cut at {MAX_RAW_CHARS} chars"
        rows.append(
            QuarantineRow(
                enterprise_id=source.enterprise_id,
                device_id=source.device_id,
                event_id=_raw_id(raw_input),
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


@dataclass(frozen=True, slots=True)
class RollCallOutcome:
    """stored (this version is now kept), duplicate (it already was), stale (a higher one is
    kept) or rejected, with the reason, and kept in quarantine."""

    status: str
    reason: str | None = None


def apply_roll_call(
    store: SyncStore, device: DeviceContext, roll_call: Mapping[str, Any], raw: Any, now: datetime
) -> RollCallOutcome:
    """Keep the highest version of a tablet's roll call (sync/ROLLCALL.md) in one transaction.

    Idempotent by the tablet's UUID. A worker id the enterprise does not have (removed since the
    tablet's roster) keeps its entry, by name, without the link. A roll call the server cannot
    keep (another tablet's id, a gate of another enterprise) is quarantined with its raw body.
    """
    roll_call_id = str(roll_call["id"])
    gate_known = bool(store.existing_gate_ids(device.enterprise_id, [roll_call["gate_id"]]))
    wanted = {("worker", str(e["worker_id"])) for e in roll_call["entries"] if e["worker_id"]}
    resolved = store.resolve_subjects(device.enterprise_id, wanted) if wanted else {}
    known = {resolution.worker_id for resolution in resolved.values()}
    row = RollCallRow(
        id=roll_call_id,
        enterprise_id=device.enterprise_id,
        device_id=device.device_id,
        gate_id=roll_call["gate_id"],
        version=roll_call["version"],
        started_at=roll_call["started_at"],
        closed_at=roll_call["closed_at"],
        entries=tuple(
            RollCallEntryRow(
                key=e["key"],
                kind=e["kind"],
                worker_id=e["worker_id"] if e["worker_id"] in known else None,
                name=e["name"],
                department=e["department"],
                code=e["code"],
                ticked_at=e["ticked_at"],
            )
            for e in roll_call["entries"]
        ),
        received_at=now,
    )
    with store.transaction():
        outcome = _keep_roll_call(store, device, row, gate_known)
        if outcome.reason is not None:
            raw_text = json.dumps(raw, ensure_ascii=True, separators=(",", ":"), default=str)
            store.quarantine(
                None,
                [
                    QuarantineRow(
                        enterprise_id=device.enterprise_id,
                        device_id=device.device_id,
                        event_id=roll_call_id,
                        seq=None,
                        reason=outcome.reason,
                        detail=f"roll call version {row.version}",
                        raw=raw_text[:MAX_RAW_CHARS],
                        received_at=now,
                    )
                ],
            )
    return outcome


def _keep_roll_call(
    store: SyncStore, device: DeviceContext, row: RollCallRow, gate_known: bool
) -> RollCallOutcome:
    # Two tries: a first copy another request inserted meanwhile is read back, then compared.
    for _ in range(2):
        stored = store.roll_call(row.id)
        if stored is not None and stored.device_id != device.device_id:
            return RollCallOutcome("rejected", "id_taken")
        if stored is not None and row.version <= stored.version:
            return RollCallOutcome("duplicate" if row.version == stored.version else "stale")
        if not gate_known:
            return RollCallOutcome("rejected", "unknown_gate")
        if store.save_roll_call(row, new=stored is None):
            return RollCallOutcome("stored")
    raise RuntimeError(f"roll call {row.id} could be neither inserted nor read")


def short_messages(messages: Any) -> Any:
    """Validation messages with field names cut short: an unknown key may be a megabyte long."""
    if isinstance(messages, dict):
        return {str(k)[:_DETAIL_KEY_CHARS]: short_messages(v) for k, v in messages.items()}
    if isinstance(messages, list):
        return [short_messages(item) for item in messages]
    return messages


def _version(item: RosterPerson | RosterPass) -> int:
    return item.version


def _person_wire(person: RosterPerson) -> dict[str, Any]:
    """A person as the roster page carries it (PROTOCOL.md §6)."""
    return {
        "id": person.id,
        "code": person.code,
        "name": person.name,
        "department": person.department,
        "badge_token": person.badge_token,
        "phone_last4": person.phone_last4,
        "active": person.active,
        "version": person.version,
    }


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
            "people": [_person_wire(item) for item in page if isinstance(item, RosterPerson)],
            "passes": [item for item in page if isinstance(item, RosterPass)],
            "next_cursor": page[-1].version if page else cursor,
            "has_more": len(merged) > limit,
            "server_time": now,
            "id_card_fields": store.id_card_fields(device.enterprise_id),
        }
    )
