"""The waiting-events file a tablet exports when it cannot sync (see sync/OUTBOX_FILE.md).

Pure: canonical JSON, the HMAC signature keyed with the SHA-256 hex digest of the device's
bearer token (what the server stores as the device's token hash), the file's schema, and the
push body its events are applied as. The gate app and the reference client sign with the same
rules, so a file made by either verifies here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from marshmallow import Schema, fields, validate

from sync.schemas import MAX_EVENTS, MAX_ID, timestamp

FORMAT = "gatelog-outbox/1"
SIGNATURE_FIELD = "signature"
# A tablet offline for weeks at a busy gate: 50,000 events is far beyond a month of one gate.
MAX_FILE_EVENTS = 50_000
# Uploading one file twice gives its pushes the same batch ids; the ids are only labels.
_BATCH_NAMESPACE = uuid.UUID("6f1d7c52-3b1e-4e55-9a57-8f2f0b9f1c11")


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with keys sorted and no spaces: what JSON.stringify gives for sorted objects.

    Only objects, arrays, strings, integers, booleans and null are canonical; a float is
    refused, because Python and JavaScript write some floats differently.
    """
    _refuse_floats(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _refuse_floats(value: Any) -> None:
    if isinstance(value, float):
        raise ValueError("floats have no canonical form here")
    if isinstance(value, Mapping):
        for item in value.values():
            _refuse_floats(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _refuse_floats(item)


def signing_key(token: str) -> str:
    """The key a device signs with: the SHA-256 hex digest of its bearer token."""
    return hashlib.sha256(token.encode()).hexdigest()


def signature_of(document: Mapping[str, Any], key: str) -> str:
    """Hex HMAC-SHA256 of the canonical JSON of `document` without its signature field."""
    unsigned = {name: value for name, value in document.items() if name != SIGNATURE_FIELD}
    return hmac.new(key.encode(), canonical_json(unsigned), hashlib.sha256).hexdigest()


def signature_is_valid(document: Mapping[str, Any], key: str) -> bool:
    claimed = document.get(SIGNATURE_FIELD)
    if not isinstance(claimed, str):
        return False
    try:
        expected = signature_of(document, key)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(expected, claimed.lower())


def build_outbox_file(
    *,
    token: str,
    device_id: int,
    enterprise_id: int,
    exported_at: datetime,
    app_version: str,
    events: list[dict[str, Any]],
) -> dict[str, Any]:
    """A signed file of `events` (each exactly as it would be pushed)."""
    document: dict[str, Any] = {
        "format": FORMAT,
        "device_id": device_id,
        "enterprise_id": enterprise_id,
        "exported_at": exported_at.isoformat(),
        "app_version": app_version,
        "events": events,
    }
    document[SIGNATURE_FIELD] = signature_of(document, signing_key(token))
    return document


class OutboxFileSchema(Schema):
    """The file's envelope; its events are checked one by one by the push path."""

    format = fields.String(required=True, validate=validate.Equal(FORMAT))
    device_id = fields.Integer(required=True, strict=True, validate=validate.Range(1, MAX_ID))
    enterprise_id = fields.Integer(required=True, strict=True, validate=validate.Range(1, MAX_ID))
    exported_at = timestamp(required=True)
    app_version = fields.String(required=True, validate=validate.Length(1, 32))
    events = fields.List(fields.Raw(), required=True, validate=validate.Length(max=MAX_FILE_EVENTS))
    signature = fields.String(
        required=True, validate=validate.Regexp(r"^[0-9a-fA-F]{64}$", error="Not a hex HMAC.")
    )


def push_bodies(document: Mapping[str, Any], now: datetime) -> Iterator[dict[str, Any]]:
    """The file's events as push bodies of at most MAX_EVENTS, in the order exported.

    `sent_at` is the upload time, not `exported_at`: the time between export and upload is not
    clock skew, and correcting event times by it would push them into the future. `backlog` is
    the whole file, since the tablet keeps every one of these events until it syncs itself.
    """
    events = list(document["events"])
    total = len(events)
    for start in range(0, max(total, 1), MAX_EVENTS):
        chunk = events[start : start + MAX_EVENTS]
        yield {
            "batch_id": str(
                uuid.uuid5(_BATCH_NAMESPACE, f"{document[SIGNATURE_FIELD].lower()}:{start}")
            ),
            "sent_at": now.isoformat(),
            "app_version": document["app_version"],
            "backlog": total,
            "oldest_pending_at": None,
            "events": chunk,
        }
