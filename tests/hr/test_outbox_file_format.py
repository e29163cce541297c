"""The outbox file's canonical JSON and signature, as the gate app must reproduce them."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from sync.outbox_file import (
    FORMAT,
    build_outbox_file,
    canonical_json,
    load_public_key,
    public_key_text,
    signature_is_valid,
)

# The documented test vector (OUTBOX_FILE.md): a tablet's public key and its signature.
VECTOR_PUBLIC_KEY = (
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE5b236lPn_6KdS0zSmnAV4fWkjQEJ1pLFRTpw6CmkM-zJYsxQIlpbYiIne4"
    "lsmBK8E-2gzekRt6QXSNJ4raTFVA"
)
VECTOR_SIGNATURE = (
    "0YCjvYDripI2qzt3fwiiSKy20W7YMVBbL93ABuUHJdtextU1iZ4ry836-2EkHoBE6QWzf9G0yDD1dljEYYLLHA"
)
VECTOR_DOCUMENT = {
    "format": FORMAT,
    "device_id": 12,
    "enterprise_id": 3,
    "exported_at": "2026-11-23T00:15:02+00:00",
    "app_version": "1.0.0",
    "events": [
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
}


def unpadded(data: bytes) -> bytes:
    return data + b"=" * (-len(data) % 4)


def test_canonical_json_sorts_keys_keeps_vietnamese_and_has_no_spaces() -> None:
    text = canonical_json({"b": [1, {"z": None, "a": True}], "a": "Nguyễn Văn Ấn\n"})
    assert text == '{"a":"Nguyễn Văn Ấn\\n","b":[1,{"a":true,"z":null}]}'.encode()


def test_floats_have_no_canonical_form() -> None:
    with pytest.raises(ValueError, match="float"):
        canonical_json({"seq": 1.0})


def test_signature_is_p1363_ecdsa_sha256_of_everything_but_itself() -> None:
    private_key = ec.generate_private_key(ec.SECP256R1())
    public_key = public_key_text(private_key.public_key())
    document = build_outbox_file(
        private_key=private_key,
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
    raw = base64.urlsafe_b64decode(unpadded(document["signature"].encode()))
    assert len(raw) == 64
    # r || s as WebCrypto writes it: verifying its DER form with the public key proves both.
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    private_key.public_key().verify(der, body.encode(), ec.ECDSA(hashes.SHA256()))
    assert signature_is_valid(document, public_key)
    another = public_key_text(ec.generate_private_key(ec.SECP256R1()).public_key())
    assert not signature_is_valid(document, another)
    assert not signature_is_valid({**document, "device_id": 5}, public_key)
    assert not signature_is_valid({**document, "signature": None}, public_key)
    assert not signature_is_valid({**document, "signature": "!" * 86}, public_key)
    assert not signature_is_valid({**document, "signature": document["signature"][:43]}, public_key)


def test_the_documented_test_vector_holds() -> None:
    assert signature_is_valid({**VECTOR_DOCUMENT, "signature": VECTOR_SIGNATURE}, VECTOR_PUBLIC_KEY)
    changed = {**VECTOR_DOCUMENT, "app_version": "1.0.1", "signature": VECTOR_SIGNATURE}
    assert not signature_is_valid(changed, VECTOR_PUBLIC_KEY)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "not a base64url SPKI"),
        ("not base64!", "not a base64url SPKI"),
        (base64.urlsafe_b64encode(b"random bytes, not a key").decode(), "not a base64url SPKI"),
        # A P-384 key: the file format is P-256 only.
        (
            public_key_text(ec.generate_private_key(ec.SECP384R1()).public_key()),
            "not an ECDSA P-256",
        ),
    ],
)
def test_only_p256_public_keys_are_accepted(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        load_public_key(text)
