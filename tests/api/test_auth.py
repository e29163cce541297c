"""Every sync call needs a live device token; a revoked device gets 401 with a clear body."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from server.extensions import db
from server.models import Device, Gate, utcnow
from tests.api.wire import batch, error_code, post_json


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer forged-token-that-was-never-issued"},
        {"Authorization": "Bearer " + "x" * 5000},
    ],
)
def test_missing_or_forged_token_is_401(
    client: FlaskClient, gate: Gate, headers: dict[str, str]
) -> None:
    push = post_json(client, "/sync/push", batch(), headers)
    roster = client.get("/api/v1/sync/roster", headers=headers)

    assert (push.status_code, roster.status_code) == (401, 401)
    assert error_code(push) == error_code(roster) == "unauthorized"


def test_revoked_device_gets_401_device_revoked_on_every_call(
    client: FlaskClient, device: tuple[Device, str], auth: dict[str, str]
) -> None:
    assert post_json(client, "/sync/push", batch(), auth).status_code == 200
    device[0].revoked_at = utcnow()
    db.session.commit()

    push = post_json(client, "/sync/push", batch(), auth)
    roster = client.get("/api/v1/sync/roster", headers=auth)

    assert (push.status_code, roster.status_code) == (401, 401)
    assert error_code(push) == error_code(roster) == "device_revoked"
    assert push.get_json()["error"]["message_vi"]
