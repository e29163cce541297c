"""Done when: a self check-in, a backfilled paper line and a tablet-file event each pass through
the same engine functions as a tablet push. Walked from outside, over HTTP, with the engine's
shared stages spied on."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server.extensions import db
from server.models import GateEvent
from sync import engine
from tests.api.wire import batch, event, post_json
from tests.checkin.helpers import checkin_body
from tests.factories import (
    login,
    make_device,
    make_enterprise,
    make_gate,
    make_poster,
    make_user,
    make_worker,
)
from tests.hr.test_backfill import commit_form, entry, yesterday_at
from tests.hr.test_outbox_file import outbox, tablet_key, upload


@pytest.fixture
def spied(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, list[str]]]:
    """(stage, channel, event ids) for every call of the engine's validation and write stages."""
    calls: list[tuple[str, str, list[str]]] = []
    validate, write = engine._validate_events, engine._write

    def spy_validate(source: engine.Source, verdicts: Any, *args: Any) -> Any:
        ids = [e.event["id"] for e in verdicts.entries if e.event is not None]
        calls.append(("validate", source.channel, ids))
        return validate(source, verdicts, *args)

    def spy_write(store: Any, source: engine.Source, prepared: Any, *args: Any) -> Any:
        ids = [c.event["id"] for c in prepared.live]
        calls.append(("write", source.channel, ids))
        return write(store, source, prepared, *args)

    monkeypatch.setattr(engine, "_validate_events", spy_validate)
    monkeypatch.setattr(engine, "_write", spy_write)
    return calls


def test_each_channel_walks_through_the_engine_a_tablet_push_takes(
    app: Flask, client: FlaskClient, spied: list[tuple[str, str, list[str]]]
) -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise, code="C1")
    device, token = make_device(gate)
    worker = make_worker(enterprise, employee_code="NV001", phone="0912345678")
    poster = make_poster(enterprise=enterprise, gate=gate)
    hr = make_user("hr", enterprise=enterprise)
    db.session.commit()

    by_id = {"kind": "worker", "value": str(worker.id)}
    pushed = event(1, gate.id, subject=by_id)
    assert (
        post_json(
            client, "/sync/push", batch(pushed), {"Authorization": f"Bearer {token}"}
        ).status_code
        == 200
    )
    checkin = checkin_body({"worker": {"employee_code": "NV001", "phone": "0912345678"}})
    assert client.post(f"/c/{poster.token}/checkins", json=checkin).get_json()["status"] == (
        "accepted"
    )
    login(client, hr)
    plan = entry(client, gate, "NV001", "out", yesterday_at(17, 0)).get_data(as_text=True)
    assert client.post("/hr/backfill/commit", data=commit_form(plan)).status_code == 200
    in_file = event(2, gate.id, subject=by_id)
    assert upload(client, outbox(device, tablet_key(device), [in_file])).status_code == 200

    channels = [(stage, channel) for stage, channel, _ in spied]
    assert channels == [
        (stage, channel)
        for channel in (engine.PUSH, engine.SELF, engine.PAPER, engine.FILE)
        for stage in ("validate", "write")
    ]
    written = {channel: ids for stage, channel, ids in spied if stage == "write"}
    [paper_id] = written[engine.PAPER]
    assert written[engine.PUSH] == [pushed["id"]]
    assert written[engine.SELF] == [checkin["id"]]
    assert written[engine.FILE] == [in_file["id"]]
    stored = {
        str(row.id): row.method
        for row in db.session.scalars(select(GateEvent).where(GateEvent.worker_id == worker.id))
    }
    assert stored == {
        pushed["id"]: pushed["method"],
        checkin["id"]: "self",
        paper_id: "paper",
        in_file["id"]: in_file["method"],
    }
