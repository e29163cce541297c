"""The outbox file's canonical JSON and signature, as the gate app must reproduce them."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

import pytest

from server.tokens import hash_secret
from sync.outbox_file import (
    FORMAT,
    build_outbox_file,
    canonical_json,
    signature_is_valid,
    signing_key,
)


def test_canonical_json_sorts_keys_keeps_vietnamese_and_has_no_spaces() -> None:
    text = canonical_json({"b": [1, {"z": None, "a": True}], "a": "Nguyễn Văn Ấn\n"})
    assert text == '{"a":"Nguyễn Văn Ấn\\n","b":[1,{"a":true,"z":null}]}'.encode()


def test_floats_have_no_canonical_form() -> None:
    with pytest.raises(ValueError, match="float"):
        canonical_json({"seq": 1.0})


def test_the_signing_key_is_the_token_hash_the_server_stores() -> None:
    assert signing_key("s3cret-token") == hash_secret("s3cret-token")


def test_signature_is_hmac_sha256_of_everything_but_itself_keyed_with_the_hex_digest() -> None:
    document = build_outbox_file(
        token="tok",
        device_id=4,
        enterprise_id=2,
        exported_at=datetime(2026, 11, 23, 1, 2, 3, tzinfo=UTC),
        app_version="1.0.0",
        events=[],
    )
    body = (
        '{"app_version":"1.0.0","device_id":4,"enterprise_id":2,"events":[],'
        '"exported_at":"2026-11-23T01:02:03+00:00","format":"' + FORMAT + '"}'
    )
    key = hashlib.sha256(b"tok").hexdigest().encode()
    assert document["signature"] == hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    assert signature_is_valid(document, signing_key("tok"))
    assert not signature_is_valid(document, signing_key("another token"))
    assert not signature_is_valid({**document, "device_id": 5}, signing_key("tok"))
    assert not signature_is_valid({**document, "signature": None}, signing_key("tok"))


def test_the_documented_test_vector_holds() -> None:
    document = build_outbox_file(
        token="test-token",
        device_id=12,
        enterprise_id=3,
        exported_at=datetime(2026, 11, 23, 0, 15, 2, tzinfo=UTC),
        app_version="1.0.0",
        events=[
            {
                "id": "8f0c4a5e-2b7d-4c1e-9a3f-0d6b5e4c3a21",
                "seq": 1,
                "occurred_at": "2026-11-23T07:10:00+07:00",
                "gate_id": 7,
                "direction": "in",
                "subject": {"kind": "text", "value": "Nguyễn Văn Ấn"},
                "method": "manual",
            }
        ],
    )
    assert document["signature"] == (
        "4b62800961489a615afdbad122da59e04f66b5d80df282898b28f054469c915d"
    )
