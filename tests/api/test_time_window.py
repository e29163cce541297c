"""Every time the API stores lies in 1970..2099 (PROTOCOL.md, "Times"); a wrong clock inside
that window is corrected by the measured skew, never refused."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from server.extensions import db
from server.models import Device, Gate, GateEvent, QuarantinedEvent, RollCall, utcnow
from tests.api.wire import answer_of, batch, event, post_json

OUTSIDE = ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+05:00", "1969-12-31T23:59:59+00:00"]


@pytest.mark.parametrize(
    "clock",
    [datetime(1970, 1, 1, 0, 5, tzinfo=UTC), datetime(2091, 6, 1, tzinfo=UTC)],
    ids=["dead-battery-1970", "decades-ahead"],
)
def test_a_clock_years_off_is_corrected_not_refused(
    client: FlaskClient, gate: Gate, auth: dict[str, str], clock: datetime
) -> None:
    body = batch(
        event(1, gate.id, occurred_at=(clock - timedelta(minutes=3)).isoformat()),
        sent_at=clock.isoformat(),
        oldest_pending_at=(clock - timedelta(minutes=3)).isoformat(),
    )

    answer = answer_of(post_json(client, "/sync/push", body, auth))

    assert [ack["status"] for ack in answer["acks"]] == ["accepted"]
    stored = db.session.scalars(select(GateEvent)).one()
    assert stored.occurred_at == clock - timedelta(minutes=3)
    assert abs(stored.corrected_at - (utcnow() - timedelta(minutes=3))) < timedelta(minutes=1)
    assert "clock_skew" in stored.flags


@pytest.mark.parametrize("moment", OUTSIDE)
def test_an_event_time_outside_the_window_is_rejected_and_quarantined(
    client: FlaskClient, gate: Gate, auth: dict[str, str], moment: str
) -> None:
    body = batch(event(1, gate.id), event(2, gate.id, occurred_at=moment))

    answer = answer_of(post_json(client, "/sync/push", body, auth))

    assert [ack["status"] for ack in answer["acks"]] == ["accepted", "rejected"]
    assert answer["acks"][1]["reason"] == "time_out_of_range"
    quarantined = db.session.scalars(select(QuarantinedEvent)).one()
    assert quarantined.seq == 2
    assert moment in quarantined.raw


@pytest.mark.parametrize("moment", OUTSIDE)
@pytest.mark.parametrize("events", [1, 0], ids=["push", "heartbeat"])
def test_a_sending_time_outside_the_window_refuses_the_push_with_its_reason(
    client: FlaskClient, gate: Gate, auth: dict[str, str], moment: str, events: int
) -> None:
    body = batch(*[event(1, gate.id)][:events], sent_at=moment)

    response = post_json(client, "/sync/push", body, auth)

    assert response.status_code == 400
    error = answer_of(response)["error"]
    assert (error["code"], list(error["details"])) == ("validation_error", ["sent_at"])
    assert db.session.scalars(select(GateEvent)).all() == []


@pytest.mark.parametrize("moment", OUTSIDE)
def test_an_oldest_pending_time_outside_the_window_is_kept_as_unknown(
    client: FlaskClient, gate: Gate, auth: dict[str, str], device: tuple[Device, str], moment: str
) -> None:
    response = post_json(client, "/sync/push", batch(oldest_pending_at=moment, backlog=3), auth)

    assert response.status_code == 200
    db.session.expire_all()
    stored = db.session.get(Device, device[0].id)
    assert stored is not None
    assert (stored.reported_backlog, stored.oldest_pending_at) == (3, None)


@pytest.mark.parametrize("moment", OUTSIDE)
@pytest.mark.parametrize("field", ["started_at", "closed_at", "ticked_at"])
def test_a_roll_call_time_outside_the_window_is_refused(
    client: FlaskClient, gate: Gate, auth: dict[str, str], moment: str, field: str
) -> None:
    entry: dict[str, Any] = {"key": "w:1", "kind": "worker", "name": "An"}
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "version": 1,
        "gate_id": gate.id,
        "started_at": utcnow().isoformat(),
        "entries": [entry],
    }
    if field == "ticked_at":
        entry[field] = moment
    else:
        body[field] = moment

    response = post_json(client, "/rollcalls", body, auth)

    assert response.status_code == 400
    assert answer_of(response)["error"]["code"] == "validation_error"
    assert db.session.scalars(select(RollCall)).all() == []
