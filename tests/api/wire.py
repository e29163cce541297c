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


MARK = "BROKEN"
# How each test writes the broken text into a body: as a JSON escape, or as raw bytes.
SPELLINGS = {"escape": b"\\udc80", "utf8-bytes": b"\xed\xb2\x80"}


def with_broken_text(body: Any, spelling: bytes) -> bytes:
    """`body` as JSON, with every MARK replaced by a lone surrogate spelt `spelling`."""
    return json.dumps(body).encode().replace(MARK.encode(), spelling)


def answer_of(response: TestResponse) -> Any:
    """The answer's JSON, read as strict UTF-8: an answer that cannot be sent fails here."""
    assert response.status_code < 500, response.data[:500]
    return json.loads(response.data.decode("utf-8"))
