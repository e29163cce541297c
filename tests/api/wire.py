"""Building and sending device API requests in tests."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from server.models import utcnow


def event(seq: int, gate_id: int, **overrides: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "seq": seq,
        "occurred_at": (utcnow() - timedelta(minutes=2)).astimezone().isoformat(),
        "gate_id": gate_id,
        "direction": "in",
        "subject": {"kind": "text", "value": "Khách lạ"},
        "method": "manual",
        **overrides,
    }


def batch(*events: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {
        "batch_id": str(uuid.uuid4()),
        "sent_at": utcnow().isoformat(),
        "app_version": "1.0.0",
        "backlog": 0,
        "oldest_pending_at": None,
        "events": list(events),
        **overrides,
    }


def post_json(
    client: FlaskClient,
    path: str,
    body: Any,
    headers: dict[str, str] | None = None,
    *,
    compress: bool = False,
) -> TestResponse:
    data = json.dumps(body).encode()
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if compress:
        data = gzip.compress(data)
        all_headers["Content-Encoding"] = "gzip"
    return client.post(f"/api/v1{path}", data=data, headers=all_headers)


def error_code(response: TestResponse) -> str:
    body = response.get_json()
    assert set(body["error"]) >= {"code", "message", "message_vi"}
    return body["error"]["code"]
