"""Roll-call API (sync/ROLLCALL.md): a tablet reads who is inside across gates, and sends the
roll calls it takes. Attached to the device API blueprint."""

from __future__ import annotations

from flask import Response, current_app, request
from marshmallow import ValidationError

from server.admin.config import max_stay_hours
from server.api.answers import json_response
from server.api.auth import device_required
from server.api.body import read_json
from server.api.errors import ApiError
from server.api.routes import _device_key, bp
from server.extensions import db, limiter
from server.hr.rollcall.services import device_scope, people_inside, received_seqs
from server.models.types import utcnow
from server.sync_store import SqlSyncStore
from sync.engine import apply_roll_call, short_messages
from sync.schemas_rollcall import InsideAnswerSchema, RollCallAnswerSchema, RollCallSchema
from sync.store import DeviceContext

# A tablet sends a roll call after each change, debounced; reads the list every few minutes.
ROLL_CALL_RATE_LIMIT = "120 per minute"

# Why the engine refused a roll call, as the field it blames and what the tablet shows.
_REFUSED = {
    "id_taken": ("id", "This id belongs to a roll call of another tablet."),
    "unknown_gate": ("gate_id", "Unknown gate."),
}

_roll_call_schema = RollCallSchema()
_answer_schema = RollCallAnswerSchema()
_inside_schema = InsideAnswerSchema()


@bp.post("/rollcalls")
@limiter.limit(ROLL_CALL_RATE_LIMIT, key_func=_device_key)
@device_required
def push_roll_call(device: DeviceContext) -> Response:
    raw = read_json(request)
    try:
        data = _roll_call_schema.load(raw)
    except ValidationError as error:
        raise ApiError("validation_error", short_messages(error.messages)) from error
    now = utcnow()
    outcome = apply_roll_call(SqlSyncStore(db.session), device, data, raw, now)
    if outcome.reason is not None:
        field, message = _REFUSED[outcome.reason]
        raise ApiError("validation_error", {field: [message]})
    return json_response(
        _answer_schema.dump(
            {
                "id": data["id"],
                "status": outcome.status,
                "version": data["version"],
                "server_time": now,
            }
        )
    )


@bp.get("/rollcalls/inside")
@limiter.limit(ROLL_CALL_RATE_LIMIT, key_func=_device_key)
@device_required
def inside(device: DeviceContext) -> Response:
    now = utcnow()
    shift_hours = max_stay_hours(current_app.config["GATELOG"])
    people = people_inside(device_scope(device), now=now, shift_hours=shift_hours).named()
    highest_seq, missing = received_seqs(device)
    return json_response(
        _inside_schema.dump(
            {
                "people": people,
                "highest_seq": highest_seq,
                "missing_ranges": missing,
                "shift_hours": shift_hours,
                "server_time": now,
            }
        )
    )
