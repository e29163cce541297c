"""Device API routes: parse, call the engine or a service, answer JSON."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request
from flask_limiter.errors import RateLimitExceeded
from marshmallow import ValidationError

from server.admin.config import effective, ingest_policy
from server.api.answers import json_response
from server.api.auth import bearer_token, device_required
from server.api.body import parse_json, read_json, receive_body
from server.api.errors import ApiError, error_response
from server.api.services import EnrolmentCodeInvalid, enrol_device
from server.extensions import db, limiter
from server.models.types import utcnow
from server.ops import metrics
from server.sync_store import SqlSyncStore
from server.tokens import hash_secret
from sync.engine import PushRefused, apply_push, pull_roster, short_messages
from sync.outbox_file import load_public_key
from sync.schemas import EnrolAnswerSchema, EnrolSchema
from sync.store import DeviceContext

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# Per device for sync calls, per address for enrolment; app.config keys API_*_RATE_LIMIT override.
PUSH_RATE_LIMIT = "600 per minute"
ROSTER_RATE_LIMIT = "120 per minute"
ENROL_RATE_LIMIT = "30 per minute"

_enrol_schema = EnrolSchema()
_enrol_answer_schema = EnrolAnswerSchema()


def _device_key() -> str:
    token = bearer_token()
    return "device:" + hash_secret(token) if token else "anonymous:" + (request.remote_addr or "")


def _configured(name: str, default: str) -> Any:
    return lambda: current_app.config.get(name, default)


@bp.post("/devices/enroll")
@limiter.limit(_configured("API_ENROL_RATE_LIMIT", ENROL_RATE_LIMIT))
def enroll() -> Response:
    payload = read_json(request)
    try:
        fields = _enrol_schema.load(payload)
    except ValidationError as error:
        raise ApiError("validation_error", short_messages(error.messages)) from error
    if fields["public_key"] is not None:
        try:
            load_public_key(fields["public_key"])
        except ValueError as error:
            raise ApiError("validation_error", {"public_key": [str(error)]}) from error
    try:
        enrolment = enrol_device(
            fields["code"],
            label=fields["label"],
            app_version=fields["app_version"],
            public_key=fields["public_key"],
            now=utcnow(),
        )
    except EnrolmentCodeInvalid as error:
        raise ApiError("enrolment_code_invalid") from error
    answer = _enrol_answer_schema.dump(
        {
            "device_id": enrolment.device.id,
            "token": enrolment.token,
            "enterprise": enrolment.enterprise,
            "gate": enrolment.gate,
            "gates": enrolment.gates,
            "server_time": utcnow(),
            "replaces_device_id": enrolment.replaces_device_id,
        }
    )
    return json_response(answer, 201)


@bp.post("/sync/push")
@limiter.limit(_configured("API_PUSH_RATE_LIMIT", PUSH_RATE_LIMIT), key_func=_device_key)
@device_required
def push(device: DeviceContext) -> Response:
    # Read before waiting for the worker's turn: a tablet on a slow link keeps no one waiting.
    body = receive_body(request)
    store = SqlSyncStore(db.session)
    with store.worker_turn():
        payload = parse_json(body)
        policy = ingest_policy(effective(current_app.config["GATELOG"]))
        answer = apply_push(store, device, payload, utcnow(), policy=policy)
    metrics.count_push(answer["acks"])
    return json_response(answer)


@bp.get("/sync/roster")
@limiter.limit(_configured("API_ROSTER_RATE_LIMIT", ROSTER_RATE_LIMIT), key_func=_device_key)
@device_required
def roster(device: DeviceContext) -> Response:
    page = pull_roster(SqlSyncStore(db.session), device, request.args.to_dict(), utcnow())
    return json_response(page)


@bp.errorhandler(ApiError)
def _api_error(error: ApiError) -> tuple[Response, int]:
    db.session.rollback()
    return error_response(error.code, error.details)


@bp.errorhandler(PushRefused)
def _push_refused(error: PushRefused) -> tuple[Response, int]:
    db.session.rollback()
    metrics.count_refused_push(error.code)
    return error_response(error.code, error.details)


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(error: RateLimitExceeded) -> tuple[Response, int]:
    return error_response("rate_limited", {"limit": str(error.limit.limit)})
