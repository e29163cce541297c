"""The OpenAPI description of /api/v1, generated from the wire schemas (sync/schemas*.py).

Served without authentication: it describes the protocol and holds no personal data. The
prose contract stays sync/PROTOCOL.md; this is its machine-readable shape, which Schemathesis
holds the server to (tests/api/test_schemathesis.py).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Response
from marshmallow import Schema, fields, validate

from server.api.answers import json_response
from server.api.errors import ERRORS, RETRY_AFTER_SECONDS
from server.api.routes import bp
from sync.schemas import (
    EnrolAnswerSchema,
    EnrolSchema,
    EventSchema,
    PushAnswerSchema,
    PushEnvelopeSchema,
    RosterPageSchema,
    RosterQuerySchema,
)
from sync.schemas_rollcall import InsideAnswerSchema, RollCallAnswerSchema, RollCallSchema
from sync.schemas_wipe import ReplaceableAnswerSchema, WipeAnswerSchema, WipeReportSchema

VERSION = "1"
BEARER: list[dict[str, list[str]]] = [{"device_token": []}]


class ErrorSchema(Schema):
    code = fields.String(required=True)
    message = fields.String(required=True)
    message_vi = fields.String(required=True)
    details = fields.Dict()


class ErrorAnswerSchema(Schema):
    error = fields.Nested(ErrorSchema, required=True)


class AckSchema(Schema):
    """One event's outcome (PROTOCOL.md §5.4); the engine writes acks as plain JSON."""

    # As the device sent it; null when it sent no short string.
    id = fields.String(required=True, allow_none=True)
    status = fields.String(
        required=True, validate=validate.OneOf(("accepted", "duplicate", "rejected"))
    )
    reason = fields.String()
    message = fields.String()
    message_vi = fields.String()
    details = fields.Raw()


class PushSchema(PushEnvelopeSchema):
    """The envelope with its events as a valid device sends them; each is checked on its own."""

    events = fields.List(fields.Nested(EventSchema), required=True)  # type: ignore[assignment]


class PushAnswerDocSchema(PushAnswerSchema):
    acks = fields.List(fields.Nested(AckSchema))


class RosterPersonSchema(Schema):
    """One person of a roster page (PROTOCOL.md §6); the engine writes people as plain JSON."""

    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    department = fields.String(allow_none=True)
    badge_token = fields.String(allow_none=True)
    phone_last4 = fields.String(allow_none=True)
    active = fields.Boolean()
    version = fields.Integer()


class RosterPageDocSchema(RosterPageSchema):
    people = fields.List(fields.Nested(RosterPersonSchema))


def _errors(*statuses: int) -> dict[str, Any]:
    """Responses with the error body for `statuses`, each naming the codes it may carry."""
    answers = {}
    for status in statuses:
        codes = sorted(code for code, (code_status, *_) in ERRORS.items() if code_status == status)
        answer: dict[str, Any] = {
            "description": ", ".join(codes) or "error",
            "content": {"application/json": {"schema": "ErrorAnswer"}},
        }
        if any(code in RETRY_AFTER_SECONDS for code in codes):
            answer["headers"] = {
                "Retry-After": {"description": "seconds", "schema": {"type": "string"}}
            }
        answers[str(status)] = answer
    return answers


def _answer(schema: str, status: int = 200) -> dict[str, Any]:
    return {str(status): {"description": "OK", "content": {"application/json": {"schema": schema}}}}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


# Every call may meet a rate limit or a busy database; every body may be too big or not JSON.
_ALWAYS = (429, 503)
_BODY = (400, 413, 415)

OPERATIONS: dict[str, dict[str, dict[str, Any]]] = {
    "/devices/enroll": {
        "post": {
            "summary": "Trade a one-use enrolment code for a device token",
            "requestBody": _body("Enrol"),
            "responses": {**_answer("EnrolAnswer", 201), **_errors(*_BODY, 404, *_ALWAYS)},
        }
    },
    "/sync/push": {
        "post": {
            "summary": "Send recorded events, or a heartbeat (no events)",
            "security": BEARER,
            "requestBody": _body("Push"),
            "responses": {**_answer("PushAnswer"), **_errors(*_BODY, 401, *_ALWAYS)},
        }
    },
    "/sync/roster": {
        "get": {
            "summary": "One page of the enterprise's people and passes changed since a cursor",
            "security": BEARER,
            "parameters": [{"in": "query", "schema": RosterQuerySchema}],
            "responses": {**_answer("RosterPage"), **_errors(400, 401, *_ALWAYS)},
        }
    },
    "/rollcalls": {
        "post": {
            "summary": "Send a roll call, whole, each time it changes",
            "security": BEARER,
            "requestBody": _body("RollCall"),
            "responses": {**_answer("RollCallAnswer"), **_errors(*_BODY, 401, *_ALWAYS)},
        }
    },
    "/rollcalls/inside": {
        "get": {
            "summary": "Who the server counts on site, across the enterprise's gates",
            "security": BEARER,
            "responses": {**_answer("InsideAnswer"), **_errors(401, *_ALWAYS)},
        }
    },
    "/devices/wipe-reports": {
        "post": {
            "summary": "Report wiped storage, of this tablet or of the one it replaces",
            "security": BEARER,
            "requestBody": _body("WipeReport"),
            "responses": {**_answer("WipeAnswer", 201), **_errors(*_BODY, 401, 404, *_ALWAYS)},
        }
    },
    "/devices/replaceable": {
        "get": {
            "summary": "The enterprise's other tablets a new one may replace",
            "security": BEARER,
            "responses": {**_answer("ReplaceableAnswer"), **_errors(401, *_ALWAYS)},
        }
    },
    "/openapi.json": {
        "get": {
            "summary": "This description",
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {}}}}
            },
        }
    },
}

SCHEMAS: dict[str, type[Schema]] = {
    "ErrorAnswer": ErrorAnswerSchema,
    "Enrol": EnrolSchema,
    "EnrolAnswer": EnrolAnswerSchema,
    "Push": PushSchema,
    "PushAnswer": PushAnswerDocSchema,
    "RosterPage": RosterPageDocSchema,
    "RollCall": RollCallSchema,
    "RollCallAnswer": RollCallAnswerSchema,
    "InsideAnswer": InsideAnswerSchema,
    "WipeReport": WipeReportSchema,
    "WipeAnswer": WipeAnswerSchema,
    "ReplaceableAnswer": ReplaceableAnswerSchema,
}


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.0 document of /api/v1; built once, it depends on nothing at run time."""
    spec = APISpec(
        title="Gate log device API",
        version=VERSION,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "The device protocol; sync/PROTOCOL.md is its prose contract."},
        servers=[{"url": bp.url_prefix}],
    )
    spec.components.security_scheme("device_token", {"type": "http", "scheme": "bearer"})
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    for path, operations in OPERATIONS.items():
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@bp.get("/openapi.json")
def openapi() -> Response:
    return json_response(openapi_document())
