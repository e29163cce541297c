"""The yardstick: what a plain Flask + marshmallow + SQLAlchemy Core push endpoint costs.

It takes the same body as Gate log's push, finds the device by its bearer token, validates
every event with marshmallow, and stores them into the same gate_event table with one
INSERT … ON CONFLICT DO NOTHING RETURNING, answering accepted or duplicate per event. None of
Gate log's duties (device lock, gate and subject checks, seq gaps, skew, quarantine, the batch
record): it is what the same stack does with the least work. Served by gunicorn as
`tests.bench.plain_endpoint:create_plain_app()` with DATABASE_URL in the environment.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, request
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import create_engine, select
from sqlalchemy.dialects import postgresql, sqlite

from server.database import engine_options
from server.models import Device, Gate, GateEvent

PATH = "/plain/push"


class SubjectIn(Schema):
    kind = fields.String(
        required=True, validate=validate.OneOf(("badge", "pass", "worker", "text"))
    )
    value = fields.String(required=True, validate=validate.Length(1, 200))


class EventIn(Schema):
    id = fields.UUID(required=True)
    seq = fields.Integer(required=True, strict=True, validate=validate.Range(min=1))
    occurred_at = fields.AwareDateTime(required=True)
    gate_id = fields.Integer(required=True, strict=True)
    direction = fields.String(required=True, validate=validate.OneOf(("in", "out")))
    subject = fields.Nested(SubjectIn, required=True)
    method = fields.String(
        required=True, validate=validate.OneOf(("camera", "scanner", "manual", "self"))
    )
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class PushIn(Schema):
    batch_id = fields.UUID(required=True)
    sent_at = fields.AwareDateTime(required=True)
    app_version = fields.String(required=True)
    backlog = fields.Integer(required=True)
    oldest_pending_at = fields.AwareDateTime(load_default=None, allow_none=True)
    events = fields.List(fields.Nested(EventIn), required=True, validate=validate.Length(max=500))


def _answer(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), status, mimetype="application/json")


def create_plain_app() -> Flask:
    engine = create_engine(os.environ["DATABASE_URL"], **engine_options(os.environ["DATABASE_URL"]))
    with engine.connect() as connection:
        gates = dict(connection.execute(select(Gate.id, Gate.enterprise_id)).all())
        devices = dict(connection.execute(select(Device.token_hash, Device.id)).all())
    dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
    table = GateEvent.__table__
    store = (
        dialect.insert(table).on_conflict_do_nothing(index_elements=["id"]).returning(table.c.id)
    )
    schema = PushIn()
    app = Flask(__name__)

    @app.post(PATH)
    def push() -> Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        device_id = devices.get(hashlib.sha256(token.encode()).hexdigest())
        if device_id is None:
            return _answer({"error": "unauthorized"}, 401)
        try:
            body = schema.load(request.get_json())
        except ValidationError as error:
            return _answer({"error": "validation_error", "details": error.messages}, 422)
        received = datetime.now(UTC)
        rows = [
            {
                "id": event["id"],
                "enterprise_id": gates[event["gate_id"]],
                "gate_id": event["gate_id"],
                "device_id": device_id,
                "seq": event["seq"],
                "seq_epoch": 1,
                "direction": event["direction"],
                "method": event["method"],
                "subject_type": event["subject"]["kind"],
                "subject_value": event["subject"]["value"],
                "subject_kind": "unresolved",
                "note": event["note"],
                "occurred_at": event["occurred_at"],
                "occurred_offset_minutes": int(
                    event["occurred_at"].utcoffset().total_seconds() // 60
                ),
                "corrected_at": event["occurred_at"],
                "received_at": received,
                "content_hash": hashlib.sha256(str(event).encode()).hexdigest(),
                "flags": [],
            }
            for event in body["events"]
        ]
        stored: set[Any] = set()
        if rows:
            with engine.begin() as connection:
                stored = set(connection.execute(store, rows).scalars())
        acks = [
            {"id": str(row["id"]), "status": "accepted" if row["id"] in stored else "duplicate"}
            for row in rows
        ]
        return _answer({"acks": acks, "server_time": received.isoformat()})

    return app
