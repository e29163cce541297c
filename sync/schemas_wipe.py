"""The wipe-report wire format (PROTOCOL.md §10), written by hand as the push is."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from sync.schemas import MAX_ID, MAX_SEQ, ReportedTime, _Strict, timestamp


def _optional_count(high: int) -> fields.Integer:
    return fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(0, high)
    )


def _optional_time() -> fields.AwareDateTime:
    # What the tablet last counted is a hint: outside the time window it is unknown.
    return ReportedTime(load_default=None, allow_none=True)


class WipeReportSchema(_Strict):
    """What a tablet knows of a wipe: of itself, or of the tablet it replaces."""

    replaces_device_id = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(1, MAX_ID)
    )
    waiting = _optional_count(MAX_ID)
    last_seq = _optional_count(MAX_SEQ)
    counted_at = _optional_time()
    oldest_pending_at = _optional_time()
    detected_at = timestamp(required=True)


class WipeAnswerSchema(Schema):
    wipe_id = fields.Integer()
    device_id = fields.Integer()
    lost_at_most = fields.Integer()
    after_seq = fields.Integer()
    last_known_at = fields.AwareDateTime(allow_none=True)
    server_time = fields.AwareDateTime()


class TabletRefSchema(Schema):
    """Another tablet of the enterprise, as a new tablet's guard picks the one it replaces."""

    device_id = fields.Integer()
    label = fields.String()
    gate_id = fields.Integer()
    last_sync_at = fields.AwareDateTime(allow_none=True)
    backlog = fields.Integer()


class ReplaceableAnswerSchema(Schema):
    tablets = fields.List(fields.Nested(TabletRefSchema))
