"""The v1 wire format, written by hand so that renaming a column never changes the protocol.

A push is validated in two steps: the envelope strictly (a broken envelope refuses the whole
batch, nothing stored), then each event on its own, so one broken event is rejected and
quarantined while the rest of the batch is stored.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

MAX_EVENTS = 500
MAX_BODY_BYTES = 1024 * 1024
MAX_INFLATED_BYTES = 8 * 1024 * 1024
# JavaScript numbers are exact up to 2**53 - 1, and the gate app counts seq in JavaScript.
MAX_SEQ = 2**53 - 1
# Ids beyond a 32-bit column would make the database, not the validation, refuse the value.
MAX_ID = 2**31 - 1
# What a gate may keep of a visitor's chip ID card (CCCD) besides the name; each enterprise
# chooses among these, and the roster page tells its tablets.
ID_CARD_FIELDS = ("birth_date", "last4", "province")
ROSTER_DEFAULT_LIMIT = 1000
ROSTER_MAX_LIMIT = 5000

# NUL cannot be stored in PostgreSQL text and lone surrogates (a JSON "\udc80", or UTF-8 bytes
# of one) cannot be encoded as UTF-8 at all; other control characters are never typed at a
# gate. Tab and newlines are allowed in notes.
_FORBIDDEN_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# Every time the API stores lies in this window (PROTOCOL.md, "Times"). 1970 is where a tablet
# whose clock battery died starts counting again: such a clock is corrected by the skew, never
# refused. Far outside it a time cannot be true, and near year 9999 it cannot even be shown in
# local time.
EARLIEST_TIME = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_TIME = datetime(2100, 1, 1, tzinfo=UTC)


def clean_text(value: str) -> None:
    """Refuse text no database can store and no answer can echo; a marshmallow validator."""
    if _FORBIDDEN_CHARS.search(value):
        raise ValidationError("Control characters and broken Unicode are not allowed.")


def in_time_window(value: datetime) -> None:
    """Refuse a time outside [EARLIEST_TIME, LATEST_TIME); a marshmallow validator."""
    if not EARLIEST_TIME <= value < LATEST_TIME:
        raise ValidationError("Time must be from 1970-01-01 to 2099-12-31 (UTC).")


def timestamp(**kwargs: Any) -> fields.AwareDateTime:
    """An ISO-8601 time with its offset, inside the protocol's time window."""
    return fields.AwareDateTime(validate=in_time_window, **kwargs)


class ReportedTime(fields.AwareDateTime):
    """A time the device only reports, which no record depends on: outside the window, unknown.

    Refusing the push for it would block the queue whose oldest event it describes, the very
    event that settles it (that event is quarantined for its own time).
    """

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        moment = super()._deserialize(value, attr, data, **kwargs)
        return moment if EARLIEST_TIME <= moment < LATEST_TIME else None  # type: ignore[return-value]


def _is_list(value: Any) -> None:
    if not isinstance(value, list):
        raise ValidationError("Must be a list.")


def _text(low: int, high: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=[validate.Length(min=low, max=high), clean_text], **kwargs)


class _Strict(Schema):
    """Unknown fields are refused, never silently dropped: a dropped field is lost data."""


class EnrolSchema(_Strict):
    code = _text(1, 64, required=True)
    label = _text(1, 80, required=True)
    app_version = _text(1, 32, required=True)
    # Base64url SPKI of the tablet's ECDSA P-256 public key (OUTBOX_FILE.md "Signature").
    public_key = fields.String(
        load_default=None,
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{1,200}$", error="Not a base64url public key."),
    )


class PushEnvelopeSchema(_Strict):
    batch_id = fields.UUID(required=True)
    sent_at = timestamp(required=True)
    app_version = _text(1, 32, required=True)
    backlog = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=MAX_ID))
    oldest_pending_at = ReportedTime(load_default=None, allow_none=True)
    # Events stay raw here: each is validated on its own by EventSchema.
    events = fields.Raw(required=True, validate=_is_list)


class SubjectSchema(_Strict):
    kind = fields.String(
        required=True, validate=validate.OneOf(("badge", "pass", "worker", "text"))
    )
    value = _text(1, 200, required=True)


class VisitorSchema(_Strict):
    name = _text(0, 120)
    phone = _text(0, 20)
    organisation = _text(0, 120)
    purpose = _text(0, 200)
    host = _text(0, 120)


class EventSchema(_Strict):
    id = fields.UUID(required=True)
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_SEQ))
    # Checked against the time window by the engine, which answers `time_out_of_range`.
    occurred_at = fields.AwareDateTime(required=True)
    gate_id = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_ID))
    direction = fields.String(required=True, validate=validate.OneOf(("in", "out")))
    subject = fields.Nested(SubjectSchema, required=True)
    method = fields.String(
        required=True, validate=validate.OneOf(("camera", "scanner", "manual", "self"))
    )
    note = _text(0, 500, load_default=None, allow_none=True)
    visitor = fields.Nested(VisitorSchema, load_default=None, allow_none=True)


_event_schema = EventSchema()
_EVENT_KEYS = frozenset(EventSchema().fields)
_REQUIRED_EVENT_KEYS = frozenset(
    name for name, field in EventSchema().fields.items() if field.required
)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SUBJECT_KINDS = frozenset(("badge", "pass", "worker", "text"))
_METHODS = frozenset(("camera", "scanner", "manual", "self"))


def load_event(raw: Any) -> dict[str, Any]:
    """Load one event as EventSchema does; raise ValidationError with its messages.

    A marshmallow load costs about 35 µs per event, more than storing it. Events of the usual
    shape are checked by `_plain_event`, which accepts only what EventSchema accepts and returns
    what it would return (tests/sync/test_schemas.py holds it to that); anything else, and
    every error message, comes from EventSchema itself.
    """
    event = _plain_event(raw)
    return event if event is not None else _event_schema.load(raw)


def _plain_event(raw: Any) -> dict[str, Any] | None:
    if type(raw) is not dict or not _REQUIRED_EVENT_KEYS <= raw.keys() <= _EVENT_KEYS:
        return None
    event_id, seq, gate_id = raw["id"], raw["seq"], raw["gate_id"]
    subject, note = raw["subject"], raw.get("note")
    if not (
        type(event_id) is str
        and _UUID.fullmatch(event_id)
        and type(seq) is int
        and 1 <= seq <= MAX_SEQ
        and type(gate_id) is int
        and 1 <= gate_id <= MAX_ID
        and raw["direction"] in ("in", "out")
        and type(raw["method"]) is str
        and raw["method"] in _METHODS
        and type(subject) is dict
        and subject.keys() == {"kind", "value"}
        and type(subject["kind"]) is str
        and subject["kind"] in _SUBJECT_KINDS
        and _plain_text(subject["value"], 1, 200)
        and (note is None or _plain_text(note, 0, 500))
        and raw.get("visitor") is None
        and type(raw["occurred_at"]) is str
    ):
        return None
    try:
        occurred_at = datetime.fromisoformat(raw["occurred_at"])
    except ValueError:
        return None
    if occurred_at.tzinfo is None:
        return None
    return {
        "id": uuid.UUID(event_id),
        "seq": seq,
        "occurred_at": occurred_at,
        "gate_id": gate_id,
        "direction": raw["direction"],
        "subject": {"kind": subject["kind"], "value": subject["value"]},
        "method": raw["method"],
        "note": note,
        "visitor": None,
    }


def _plain_text(value: Any, low: int, high: int) -> bool:
    return type(value) is str and low <= len(value) <= high and not _FORBIDDEN_CHARS.search(value)


class PushAnswerSchema(Schema):
    batch_id = fields.String()
    server_time = fields.AwareDateTime()
    skew_seconds = fields.Float()
    highest_seq = fields.Integer()
    missing_ranges = fields.List(fields.List(fields.Integer()))
    seq_reset = fields.Boolean()
    # Acks are built by the engine as plain JSON values (see PROTOCOL.md, "Ack"); a nested
    # schema would cost more per event than storing the event.
    acks = fields.List(fields.Raw())


class RosterQuerySchema(Schema):
    class Meta:
        # A query string is not stored data: a cache buster or tracking parameter loses nothing.
        unknown = EXCLUDE

    cursor = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**63 - 1))
    limit = fields.Integer(
        load_default=ROSTER_DEFAULT_LIMIT,
        validate=validate.Range(min=1, max=ROSTER_MAX_LIMIT),
    )


class RosterPassSchema(Schema):
    id = fields.Integer()
    token = fields.String()
    name = fields.String()
    organisation = fields.String(allow_none=True)
    valid_from = fields.AwareDateTime()
    valid_until = fields.AwareDateTime()
    active = fields.Boolean()
    version = fields.Integer()


class RosterPageSchema(Schema):
    # People are built by the engine as plain JSON values (server/api/openapi.py documents them): a
    # nested schema cost more than the query for a page of 5,000.
    people = fields.List(fields.Raw())
    passes = fields.List(fields.Nested(RosterPassSchema))
    next_cursor = fields.Integer()
    has_more = fields.Boolean()
    server_time = fields.AwareDateTime()
    id_card_fields = fields.List(fields.String())


class GateSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    code = fields.String()


class EnterpriseRefSchema(Schema):
    id = fields.Integer()
    name = fields.String()


class EnrolAnswerSchema(Schema):
    device_id = fields.Integer()
    token = fields.String()
    enterprise = fields.Nested(EnterpriseRefSchema)
    gate = fields.Nested(GateSchema)
    gates = fields.List(fields.Nested(GateSchema))
    server_time = fields.AwareDateTime()
    # Set when the code was HR's "replace tablet X": the server has recorded X's wipe (§10).
    replaces_device_id = fields.Integer(allow_none=True)
