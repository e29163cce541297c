"""Bad input gets a 4xx JSON error or a per-event rejection: never a 500, never half a batch."""

from __future__ import annotations

import gzip
import json
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.extensions import db
from server.models import Gate, GateEvent, QuarantinedEvent, SyncBatch
from tests.api.wire import batch, error_code, event, post_json
from tests.factories import make_enterprise, make_gate

PUSH = "/api/v1/sync/push"


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def assert_nothing_stored() -> None:
    assert (count(GateEvent), count(SyncBatch), count(QuarantinedEvent)) == (0, 0, 0)


def raw_post(client: FlaskClient, data: bytes, auth: dict[str, str], **headers: str) -> Any:
    all_headers = {"Content-Type": "application/json", **auth, **headers}
    return client.post(PUSH, data=data, headers=all_headers)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'{"batch_id": ', "invalid_json"),
        (b"", "invalid_json"),
        (b"\xff\xfe\xfd", "invalid_json"),
        (b'{"backlog": NaN}', "invalid_json"),
        (b"[" * 200_000 + b"]" * 200_000, "invalid_json"),
        (b"1" * 5000, "invalid_json"),
        (b"[]", "validation_error"),
        (b"{}", "validation_error"),
        (b'"just text"', "validation_error"),
    ],
)
def test_unparsable_or_shapeless_body_is_400(
    client: FlaskClient, gate: Gate, auth: dict[str, str], data: bytes, code: str
) -> None:
    response = raw_post(client, data, auth)

    assert response.status_code == 400
    assert error_code(response) == code
    assert_nothing_stored()


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain"},
        {"Content-Type": "application/x-www-form-urlencoded"},
        {"Content-Type": "application/json", "Content-Encoding": "br"},
    ],
)
def test_wrong_content_type_or_encoding_is_415(
    client: FlaskClient, gate: Gate, auth: dict[str, str], headers: dict[str, str]
) -> None:
    response = client.post(PUSH, data=json.dumps(batch()), headers={**auth, **headers})

    assert response.status_code == 415
    assert error_code(response) == "unsupported_media_type"
    assert_nothing_stored()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"backlog": "3"}, "backlog"),
        ({"backlog": -1}, "backlog"),
        ({"batch_id": 12}, "batch_id"),
        ({"sent_at": "2026-11-23T08:00:00"}, "sent_at"),
        ({"sent_at": "0001-01-01T00:00:00+05:00"}, "sent_at"),
        ({"oldest_pending_at": "yesterday"}, "oldest_pending_at"),
        ({"events": {"id": 1}}, "events"),
        ({"app_version": "x" * 1_000_000}, "app_version"),
        ({"surprise": True}, "surprise"),
        ({"s" * 200_000: 1}, "s" * 64),
    ],
)
def test_broken_envelope_is_400_with_the_field_and_stores_nothing(
    client: FlaskClient, gate: Gate, auth: dict[str, str], change: dict[str, Any], field: str
) -> None:
    body = {**batch(event(1, gate.id)), **change}

    response = post_json(client, "/sync/push", body, auth)

    assert response.status_code == 400
    assert error_code(response) == "validation_error"
    assert list(response.get_json()["error"]["details"]) == [field]
    assert len(response.data) < 2000
    assert_nothing_stored()


def test_missing_envelope_fields_are_named(
    client: FlaskClient, gate: Gate, auth: dict[str, str]
) -> None:
    response = post_json(client, "/sync/push", {"events": []}, auth)

    assert response.status_code == 400
    assert set(response.get_json()["error"]["details"]) == {
        "batch_id",
        "sent_at",
        "app_version",
        "backlog",
    }


def test_10000_event_batch_is_413_with_the_limits(
    client: FlaskClient, gate: Gate, auth: dict[str, str]
) -> None:
    body = batch(*(event(seq, gate.id) for seq in range(1, 10_001)))

    plain = post_json(client, "/sync/push", body, auth)
    packed = post_json(client, "/sync/push", body, auth, compress=True)

    for response in (plain, packed):
        assert response.status_code == 413
        assert error_code(response) == "payload_too_large"
        details = response.get_json()["error"]["details"]
        assert (details["max_events"], details["max_bytes"]) == (500, 1_048_576)
    assert_nothing_stored()


def test_gzip_bomb_is_413_without_inflating_it_all(
    client: FlaskClient, gate: Gate, auth: dict[str, str]
) -> None:
    bomb = gzip.compress(b'{"pad": "' + b" " * (16 * 1024 * 1024) + b'"}')
    assert len(bomb) < 1_048_576

    response = raw_post(client, bomb, auth, **{"Content-Encoding": "gzip"})

    assert response.status_code == 413
    assert response.get_json()["error"]["details"]["max_inflated_bytes"] == 8 * 1024 * 1024
    assert_nothing_stored()


@pytest.mark.parametrize(
    "data", [b"not gzip at all", gzip.compress(json.dumps(batch()).encode())[:-6]]
)
def test_broken_gzip_is_400(
    client: FlaskClient, gate: Gate, auth: dict[str, str], data: bytes
) -> None:
    response = raw_post(client, data, auth, **{"Content-Encoding": "gzip"})

    assert response.status_code == 400
    assert error_code(response) == "invalid_gzip"


def test_body_over_one_mebibyte_is_413(
    client: FlaskClient, gate: Gate, auth: dict[str, str]
) -> None:
    body = batch(*(event(seq, gate.id, note="n" * 500) for seq in range(1, 500)))
    body["events"].append(event(500, gate.id, note="x" * 900_000))

    response = post_json(client, "/sync/push", body, auth)

    assert response.status_code == 413
    assert_nothing_stored()


def test_broken_events_are_rejected_one_by_one_and_the_rest_stored(
    client: FlaskClient, gate: Gate, auth: dict[str, str]
) -> None:
    foreign_gate = make_gate(make_enterprise())
    cases: list[tuple[dict[str, Any], str]] = [
        ({"seq": "3"}, "invalid_event"),
        ({"gate_id": str(gate.id)}, "invalid_event"),
        ({"seq": 0}, "invalid_event"),
        ({"seq": -5}, "invalid_event"),
        ({"direction": None}, "invalid_event"),
        ({"subject": "badge"}, "invalid_event"),
        ({"method": "telepathy"}, "invalid_event"),
        ({"note": "x" * 1_000_00}, "invalid_event"),
        ({"note": "bad\x00byte"}, "invalid_event"),
        ({"occurred_at": "2026-11-23T08:00:00"}, "invalid_event"),
        ({"occurred_at": "2031-01-01T00:00:00+07:00"}, "time_out_of_range"),
        ({"occurred_at": "2019-01-01T00:00:00Z"}, "time_out_of_range"),
        ({"occurred_at": "9999-12-31T23:59:59-14:00"}, "time_out_of_range"),
        ({"gate_id": foreign_gate.id}, "unknown_gate"),
        ({"colour": "red"}, "invalid_event"),
    ]
    events: list[Any] = [event(1, gate.id)]
    for offset, (change, _) in enumerate(cases, start=2):
        events.append({**event(offset, gate.id), **change})
    missing_id = event(len(events) + 1, gate.id)
    del missing_id["id"]
    events += [missing_id, event(len(events) + 2, gate.id), event(len(events) + 2, gate.id)]

    response = post_json(client, "/sync/push", batch(*events), auth)

    assert response.status_code == 200
    acks = response.get_json()["acks"]
    expected = ["accepted"] + [reason for _, reason in cases]
    expected += ["invalid_event", "accepted", "seq_repeated"]
    assert [ack.get("reason", ack["status"]) for ack in acks] == expected
    assert all(ack["message_vi"] for ack in acks if ack["status"] == "rejected")
    assert acks[1]["details"] == {"seq": ["Not a valid integer."]}
    assert count(GateEvent) == 2
    assert count(QuarantinedEvent) == len(cases) + 2


def test_sql_and_html_in_text_are_stored_verbatim(
    client: FlaskClient, gate: Gate, auth: dict[str, str]
) -> None:
    hostile = event(
        1,
        gate.id,
        subject={"kind": "text", "value": "'); DROP TABLE gate_event; --"},
        note='<img src=x onerror="alert(1)"> & </script>',
    )

    response = post_json(client, "/sync/push", batch(hostile), auth)

    assert response.get_json()["acks"][0]["status"] == "accepted"
    stored = db.session.scalars(select(GateEvent)).one()
    assert stored.subject_value == "'); DROP TABLE gate_event; --"
    assert stored.note == '<img src=x onerror="alert(1)"> & </script>'


@pytest.mark.parametrize(
    "query", ["cursor=-1", "cursor=abc", "limit=0", "limit=5001", "cursor=99999999999999999999"]
)
def test_broken_roster_query_is_400(
    client: FlaskClient, gate: Gate, auth: dict[str, str], query: str
) -> None:
    response = client.get(f"/api/v1/sync/roster?{query}", headers=auth)

    assert response.status_code == 400
    assert error_code(response) == "validation_error"


def test_megabyte_string_in_a_gzip_body_is_rejected_and_kept_cut_short(
    client: FlaskClient, gate: Gate, auth: dict[str, str]
) -> None:
    huge = event(2, gate.id, subject={"kind": "text", "value": "x" * 1_048_576})

    response = post_json(client, "/sync/push", batch(event(1, gate.id), huge), auth, compress=True)

    acks = response.get_json()["acks"]
    assert [ack.get("reason", ack["status"]) for ack in acks] == ["accepted", "invalid_event"]
    assert acks[1]["details"] == {"subject": {"value": ["Length must be between 1 and 200."]}}
    kept = db.session.scalars(select(QuarantinedEvent)).one()
    assert len(kept.raw) == 64 * 1024
    assert "cut at" in kept.message


def test_an_api_version_the_server_does_not_speak_is_404_json(
    client: FlaskClient, auth: dict[str, str]
) -> None:
    response = client.post("/api/v2/sync/push", json=batch(), headers=auth)

    assert response.status_code == 404
    assert error_code(response) == "not_found"
