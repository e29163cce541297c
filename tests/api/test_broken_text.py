"""Text that is not valid Unicode is refused like any broken field, and every answer is sent.

A lone surrogate arrives as a JSON escape ("\\udc80") or as the UTF-8 bytes of one (ED B2 80,
which Python's JSON parser lets through); bytes that are no UTF-8 at all are not JSON.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from server.api.answers import encode_json
from server.devices import issue_enrolment_code
from server.extensions import db
from server.models import Device, Gate, GateEvent, QuarantinedEvent, RollCall, utcnow
from tests.api.wire import MARK, SPELLINGS, answer_of, batch, event, with_broken_text


def post_raw(client: FlaskClient, path: str, data: bytes, headers: dict[str, str]) -> TestResponse:
    all_headers = {"Content-Type": "application/json", **headers}
    return client.post(f"/api/v1{path}", data=data, headers=all_headers)


def counted(model: Any) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
@pytest.mark.parametrize(
    "where",
    ["id", "subject", "note", "field name", "visitor field name"],
)
def test_a_broken_event_is_rejected_and_quarantined_and_the_resend_gets_the_same_answer(
    client: FlaskClient, gate: Gate, auth: dict[str, str], spelling: bytes, where: str
) -> None:
    good = event(1, gate.id)
    broken = {
        "id": event(2, gate.id, id=MARK),
        "subject": event(2, gate.id, subject={"kind": "text", "value": f"Khách {MARK}"}),
        "note": event(2, gate.id, note=f"ghi chú {MARK}"),
        "field name": {**event(2, gate.id), MARK: 1},
        "visitor field name": event(2, gate.id, visitor={"name": "Lan", MARK: "x"}),
    }[where]
    body = with_broken_text(batch(good, broken), spelling)

    first = post_raw(client, "/sync/push", body, auth)
    again = post_raw(client, "/sync/push", body, auth)

    acks = answer_of(first)["acks"]
    assert [ack["status"] for ack in acks] == ["accepted", "rejected"]
    assert acks[1]["reason"] == "invalid_event"
    assert [ack["status"] for ack in answer_of(again)["acks"]] == ["duplicate", "rejected"]
    if where == "id":
        # Echoed as a JSON escape: the device parses back exactly the id it sent.
        assert acks[1]["id"] == "\udc80"
    assert counted(GateEvent) == 1
    db.session.expire_all()
    kept = db.session.scalars(select(QuarantinedEvent.raw)).all()
    assert len(kept) == 2
    assert all(json.loads(raw)["seq"] == 2 for raw in kept)


@pytest.mark.parametrize(
    ("spelling", "code"),
    [
        *((spelling, "validation_error") for spelling in SPELLINGS.values()),
        (b"\xff\xc0", "invalid_json"),
    ],
    ids=[*SPELLINGS, "not-utf8"],
)
@pytest.mark.parametrize(
    "change",
    [{"app_version": MARK}, {"batch_id": MARK}, {MARK: 1}],
    ids=["app_version", "batch_id", "field name"],
)
def test_a_broken_envelope_or_heartbeat_is_refused_and_nothing_stored(
    client: FlaskClient,
    gate: Gate,
    auth: dict[str, str],
    spelling: bytes,
    code: str,
    change: dict[str, Any],
) -> None:
    for events in ([event(1, gate.id)], []):
        body = with_broken_text(batch(*events, **change), spelling)

        response = post_raw(client, "/sync/push", body, auth)

        assert response.status_code == 400
        assert answer_of(response)["error"]["code"] == code
    assert counted(GateEvent) == counted(QuarantinedEvent) == 0


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
@pytest.mark.parametrize(
    "change", [{"label": MARK}, {"code": MARK}, {MARK: "x"}], ids=["label", "code", "field name"]
)
def test_enrolment_with_broken_text_is_refused_and_the_code_stays_unused(
    client: FlaskClient, gate: Gate, spelling: bytes, change: dict[str, Any]
) -> None:
    issued = issue_enrolment_code(gate, actor=None, now=utcnow())
    db.session.commit()
    body = {"code": issued.qr_content, "label": "Máy 1", "app_version": "1.0", **change}

    response = post_raw(client, "/devices/enroll", with_broken_text(body, spelling), {})

    assert response.status_code == 400
    assert answer_of(response)["error"]["code"] == "validation_error"
    assert counted(Device) == 0
    good = {"code": issued.qr_content, "label": "Máy 1", "app_version": "1.0"}
    assert post_raw(client, "/devices/enroll", json.dumps(good).encode(), {}).status_code == 201


@pytest.mark.parametrize(
    "query", ["cursor=%ED%B2%80", "limit=%FF", "%ED%B2%80=1", "cursor=%5Cudc80"]
)
def test_roster_pull_with_broken_query_text_answers_cleanly(
    client: FlaskClient, gate: Gate, auth: dict[str, str], query: str
) -> None:
    response = client.get(f"/api/v1/sync/roster?{query}", headers=auth)

    body = answer_of(response)
    assert response.status_code == 200 or body["error"]["code"] == "validation_error"


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
@pytest.mark.parametrize(
    "where", ["entry name", "entry key", "field name", "id"], ids=lambda where: where
)
def test_a_roll_call_with_broken_text_is_refused_and_nothing_stored(
    client: FlaskClient, gate: Gate, auth: dict[str, str], spelling: bytes, where: str
) -> None:
    entry = {"key": "w:1", "kind": "worker", "name": "An"}
    entry = {
        "entry name": {**entry, "name": MARK},
        "entry key": {**entry, "key": MARK},
        "field name": {**entry, MARK: 1},
        "id": entry,
    }[where]
    body = {
        "id": MARK if where == "id" else str(uuid.uuid4()),
        "version": 1,
        "gate_id": gate.id,
        "started_at": (utcnow() - timedelta(minutes=5)).isoformat(),
        "entries": [entry],
    }

    response = post_raw(client, "/rollcalls", with_broken_text(body, spelling), auth)

    assert response.status_code == 400
    assert answer_of(response)["error"]["code"] == "validation_error"
    assert counted(RollCall) == 0


# Any text at all, lone surrogates included (Hypothesis leaves them out unless asked).
ANY_TEXT = st.text(st.characters() | st.integers(0xD800, 0xDFFF).map(chr))
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | ANY_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
    max_leaves=20,
)


@given(JSON_VALUES)
def test_every_answer_is_utf8_json_that_parses_back_to_what_was_echoed(value: Any) -> None:
    # As the all-ASCII form parses: a JSON reader joins an escaped surrogate pair into one
    # character, as JavaScript's UTF-16 strings hold it.
    assert json.loads(encode_json(value).decode("utf-8")) == json.loads(json.dumps(value))
