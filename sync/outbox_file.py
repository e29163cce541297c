"""The waiting-events file a tablet exports when it cannot sync (see sync/OUTBOX_FILE.md).

Pure: canonical JSON, the ECDSA P-256 signature made with a key only the tablet holds (its
public half registered at enrolment), the file's schema, and the push body its events are
applied as. The gate app signs with WebCrypto, which writes signatures as IEEE P1363 (r || s);
they are converted here to the DER form the `cryptography` package verifies.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from marshmallow import Schema, fields, validate

from sync.schemas import MAX_EVENTS, MAX_ID, timestamp

FORMAT = "gatelog-outbox/2"
# Files of format 1 were signed with an HMAC keyed by the token hash the server stores, so
# anyone who could read the database could forge one; they are refused by name.
OLD_FORMAT = "gatelog-outbox/1"
SIGNATURE_FIELD = "signature"
# A tablet offline for weeks at a busy gate: 50,000 events is far beyond a month of one gate.
MAX_FILE_EVENTS = 50_000
# Uploading one file twice gives its pushes the same batch ids; the ids are only labels.
_BATCH_NAMESPACE = uuid.UUID("6f1d7c52-3b1e-4e55-9a57-8f2f0b9f1c11")
# P-256: r and s are 32 bytes each; the P1363 signature is their concatenation.
_HALF = 32
_ECDSA = ec.ECDSA(hashes.SHA256())


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


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_text(key: ec.EllipticCurvePublicKey) -> str:
    """How a public key travels and is stored: base64url (no padding) of its DER SPKI."""
    return _b64url(
        key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def load_public_key(text: str) -> ec.EllipticCurvePublicKey:
    """The P-256 public key `text` holds, or ValueError: what enrolment accepts."""
    try:
        key = serialization.load_der_public_key(_unb64url(text))
    except (binascii.Error, ValueError, TypeError) as error:
        raise ValueError("not a base64url SPKI public key") from error
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise ValueError("not an ECDSA P-256 public key")
    return key


def _message(document: Mapping[str, Any]) -> bytes:
    """The canonical JSON of `document` without its signature field: the bytes signed."""
    return canonical_json(
        {name: value for name, value in document.items() if name != SIGNATURE_FIELD}
    )


def signature_of(document: Mapping[str, Any], private_key: ec.EllipticCurvePrivateKey) -> str:
    """Base64url P1363 (r || s) ECDSA-SHA256 signature, as WebCrypto's sign() writes it."""
    r, s = decode_dss_signature(private_key.sign(_message(document), _ECDSA))
    return _b64url(r.to_bytes(_HALF, "big") + s.to_bytes(_HALF, "big"))


def signature_is_valid(document: Mapping[str, Any], public_key: str) -> bool:
    claimed = document.get(SIGNATURE_FIELD)
    if not isinstance(claimed, str):
        return False
    try:
        raw = _unb64url(claimed)
        if len(raw) != 2 * _HALF:
            return False
        der = encode_dss_signature(
            int.from_bytes(raw[:_HALF], "big"), int.from_bytes(raw[_HALF:], "big")
        )
        load_public_key(public_key).verify(der, _message(document), _ECDSA)
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True


def build_outbox_file(
    *,
    private_key: ec.EllipticCurvePrivateKey,
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
    document[SIGNATURE_FIELD] = signature_of(document, private_key)
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
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9_-]{86}$", error="Not a base64url P-256 signature."),
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
            "batch_id": str(uuid.uuid5(_BATCH_NAMESPACE, f"{document[SIGNATURE_FIELD]}:{start}")),
            "sent_at": now.isoformat(),
            "app_version": document["app_version"],
            "backlog": total,
            "oldest_pending_at": None,
            "events": chunk,
        }
