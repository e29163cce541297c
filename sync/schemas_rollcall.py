"""The roll-call wire format (sync/ROLLCALL.md), written by hand as the push is.

A tablet sends a roll call whole, each time it changes, with a version it counts up; the server
keeps the highest version it has seen for that id, so resends and late copies are harmless.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from sync.schemas import MAX_ID, MAX_SEQ, _Strict, _text, timestamp

# A roll call lists everyone on site: a big factory, with every visitor of the day.
MAX_ROLL_CALL_ENTRIES = 20_000
PERSON_KINDS = ("worker", "visitor", "unknown")


class RollCallEntrySchema(_Strict):
    key = _text(1, 220, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(PERSON_KINDS))
    worker_id = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(1, MAX_ID)
    )
    name = _text(0, 200, load_default="")
    department = _text(0, 120, load_default="")
    code = _text(0, 40, load_default="")
    ticked_at = timestamp(load_default=None, allow_none=True)


class RollCallSchema(_Strict):
    id = fields.UUID(required=True)
    version = fields.Integer(required=True, strict=True, validate=validate.Range(1, MAX_SEQ))
    gate_id = fields.Integer(required=True, strict=True, validate=validate.Range(1, MAX_ID))
    started_at = timestamp(required=True)
    closed_at = timestamp(load_default=None, allow_none=True)
    entries = fields.List(
        fields.Nested(RollCallEntrySchema),
        required=True,
        validate=validate.Length(max=MAX_ROLL_CALL_ENTRIES),
    )

    @validates_schema
    def _keys_are_unique(self, data: dict[str, Any], **_: Any) -> None:
        keys = [entry["key"] for entry in data.get("entries", [])]
        if len(keys) != len(set(keys)):
            raise ValidationError("Each person may be listed once.", "entries")


class RollCallAnswerSchema(_Strict):
    id = fields.UUID()
    # stored: this version is now kept; duplicate: it already was; stale: a higher one is kept.
    status = fields.String()
    version = fields.Integer()
    server_time = fields.AwareDateTime()


class InsidePersonSchema(_Strict):
    key = fields.String()
    kind = fields.String()
    worker_id = fields.Integer(allow_none=True)
    name = fields.String()
    department = fields.String()
    code = fields.String()
    gate = fields.String()
    since = fields.AwareDateTime()
    # Entered longer ago than a shift, no exit recorded: to be looked for all the same.
    overdue = fields.Boolean()


class InsideAnswerSchema(_Strict):
    """Who the server counts on site, across every gate of the enterprise, and which of this
    tablet's own events it had when it counted (so the tablet adds only the others)."""

    people = fields.List(fields.Nested(InsidePersonSchema))
    highest_seq = fields.Integer()
    missing_ranges = fields.List(fields.List(fields.Integer()))
    # The tablet applies presence's rule to its own events with the server's shift length.
    shift_hours = fields.Float()
    server_time = fields.AwareDateTime()
