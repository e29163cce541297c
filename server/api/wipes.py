"""Wipe reports (PROTOCOL.md §10): a tablet tells the server its storage was wiped, or names the
wiped tablet it replaces. Attached to the device API blueprint."""

from __future__ import annotations

from flask import Response, request
from marshmallow import ValidationError

from server.api.answers import json_response
from server.api.auth import device_required
from server.api.body import read_json
from server.api.errors import ApiError
from server.api.routes import _device_key, bp
from server.api.services import UnknownTablet, record_wipe, replaceable_tablets
from server.extensions import limiter
from server.models.types import utcnow
from sync.engine import short_messages
from sync.schemas_wipe import ReplaceableAnswerSchema, WipeAnswerSchema, WipeReportSchema
from sync.store import DeviceContext

# A tablet reports a wipe once, and a new one asks for the list once, at enrolment.
WIPE_RATE_LIMIT = "30 per minute"

_report_schema = WipeReportSchema()
_answer_schema = WipeAnswerSchema()
_replaceable_schema = ReplaceableAnswerSchema()


@bp.post("/devices/wipe-reports")
@limiter.limit(WIPE_RATE_LIMIT, key_func=_device_key)
@device_required
def report_wipe(device: DeviceContext) -> Response:
    try:
        report = _report_schema.load(read_json(request))
    except ValidationError as error:
        raise ApiError("validation_error", short_messages(error.messages)) from error
    now = utcnow()
    try:
        wipe = record_wipe(device, report, now=now)
    except UnknownTablet as error:
        raise ApiError("unknown_tablet") from error
    answer = _answer_schema.dump(
        {
            "wipe_id": wipe.id,
            "device_id": wipe.device_id,
            "lost_at_most": wipe.lost_at_most,
            "after_seq": wipe.server_highest_seq,
            "last_known_at": wipe.last_known_at,
            "server_time": now,
        }
    )
    return json_response(answer, 201)


@bp.get("/devices/replaceable")
@limiter.limit(WIPE_RATE_LIMIT, key_func=_device_key)
@device_required
def replaceable(device: DeviceContext) -> Response:
    tablets = [
        {
            "device_id": tablet.id,
            "label": tablet.label,
            "gate_id": tablet.gate_id,
            "last_sync_at": tablet.last_sync_at,
            "backlog": tablet.reported_backlog,
        }
        for tablet in replaceable_tablets(device)
    ]
    return json_response(_replaceable_schema.dump({"tablets": tablets}))
