"""The reference client and the simulator against the real Flask app, in-process."""

from __future__ import annotations

import random
from collections.abc import Mapping
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.extensions import db
from server.models import GateEvent, utcnow
from sync.client import Response, SyncClient, SyncError
from sync.simulate import Credentials, Tablet
from tests.factories import make_enrolment_code, make_enterprise, make_gate, make_worker


class FlaskTransport:
    """The Flask test client behind the client's transport interface."""

    def __init__(self, http: FlaskClient) -> None:
        self.http = http

    def send(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        answer = self.http.open(path, method=method, headers=dict(headers), data=body)
        return Response(
            answer.status_code,
            {key.lower(): value for key, value in answer.headers.items()},
            answer.get_data(),
        )


def test_tablet_enrols_with_a_printed_code_pulls_the_roster_and_drains_through_faults(
    app, tmp_path: Path
) -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    workers = [make_worker(enterprise) for _ in range(5)]
    issued = make_enrolment_code(gate, now=utcnow())
    rng = random.Random(3)
    tablet = Tablet(
        "Cổng 1 - máy 1",
        tmp_path / "outbox.sqlite",
        FlaskTransport(app.test_client()),
        rng,
        fault_rate=0.3,
        sleep=lambda _seconds: None,
    )

    tablet.sign_in(Credentials(code=issued.qr_content))
    tablet.learn_roster()
    report = tablet.run(400, offline_periods=2, push_every=25)
    tablet.client.close()

    assert tablet.gates == [gate.id]
    assert sorted(tablet.badges) == sorted(worker.badge_token for worker in workers)
    assert report.error is None
    assert report.backlog == 0
    assert report.missing_ranges == []
    assert report.highest_seq == 400
    assert sum(report.faults.values()) > 0
    stored = db.session.execute(
        select(func.count(), func.count(func.distinct(GateEvent.seq))).where(
            GateEvent.device_id == report.device_id
        )
    ).one()
    assert tuple(stored) == (400, 400)
    resolved = db.session.scalar(
        select(func.count()).where(
            GateEvent.device_id == report.device_id, GateEvent.worker_id.is_not(None)
        )
    )
    assert resolved > 300


def test_a_used_enrolment_code_is_refused_and_the_tablet_stays_unenrolled(
    app, tmp_path: Path
) -> None:
    gate = make_gate(make_enterprise())
    issued = make_enrolment_code(gate, now=utcnow())
    first = SyncClient(tmp_path / "a.sqlite", FlaskTransport(app.test_client()))
    second = SyncClient(tmp_path / "b.sqlite", FlaskTransport(app.test_client()))

    first.enroll(issued.code, "Máy 1")
    with pytest.raises(SyncError) as raised:
        second.enroll(issued.code, "Máy 2")

    assert first.device_id is not None
    assert raised.value.code == "enrolment_code_invalid"
    assert raised.value.status == 404
    assert second.device_id is None
    first.close()
    second.close()
