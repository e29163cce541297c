"""The self check-in calls refuse text that is not valid Unicode, and times out of the window."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.extensions import db
from server.models import GateEvent, QuarantinedEvent
from tests.api.wire import MARK, SPELLINGS, answer_of, with_broken_text
from tests.checkin.helpers import checkin_body


def stored() -> tuple[int, int]:
    db.session.expire_all()
    count = func.count()
    return (
        db.session.scalar(select(count).select_from(GateEvent)) or 0,
        db.session.scalar(select(count).select_from(QuarantinedEvent)) or 0,
    )


def post(client: FlaskClient, url: str, data: bytes) -> Any:
    return client.post(url, data=data, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
@pytest.mark.parametrize("where", ["employee_code", "phone", "presence", "field name"])
def test_identify_with_broken_text_is_refused(
    client: FlaskClient, premises: Any, spelling: bytes, where: str
) -> None:
    worker = premises.worker_identity()
    body: dict[str, Any] = {"worker": {**worker, where: MARK}}
    if where == "presence":
        body = {"worker": worker, "presence": MARK}
    elif where == "field name":
        body = {"worker": {**worker, MARK: "x"}}

    response = post(client, f"{premises.base}/identify", with_broken_text(body, spelling))

    assert response.status_code == 400
    assert answer_of(response)["error"]["code"] == "invalid"


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
@pytest.mark.parametrize("where", ["id", "answer", "visitor name", "field name"])
def test_a_checkin_with_broken_text_is_refused_and_nothing_stored(
    client: FlaskClient, premises: Any, spelling: bytes, where: str
) -> None:
    answer = {"question_id": premises.question.id, "answer": MARK if where == "answer" else "no"}
    person: dict[str, Any] = {"worker": premises.worker_identity()}
    overrides: dict[str, Any] = {"id": {"id": MARK}, "field name": {MARK: 1}}.get(where, {})
    if where == "visitor name":
        person = {"visitor": {"name": MARK, "phone": "0912345678"}}
    body = checkin_body(person, answers=[answer], **overrides)

    response = post(client, f"{premises.base}/checkins", with_broken_text(body, spelling))

    assert response.status_code == 400
    assert answer_of(response)["error"]["code"] == "invalid"
    assert stored() == (0, 0)


@pytest.mark.parametrize("field", ["occurred_at", "sent_at"])
@pytest.mark.parametrize("moment", ["9999-12-31T23:00:00+07:00", "0001-01-01T00:00:00+07:00"])
def test_a_checkin_time_outside_the_window_is_refused(
    client: FlaskClient, premises: Any, field: str, moment: str
) -> None:
    answer = [{"question_id": premises.question.id, "answer": "no"}]
    body = checkin_body({"worker": premises.worker_identity()}, answers=answer, **{field: moment})

    response = client.post(f"{premises.base}/checkins", json=body)

    assert response.status_code == 400
    assert field in answer_of(response)["error"]["details"]["fields"]
    assert stored() == (0, 0)
