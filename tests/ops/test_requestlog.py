"""One JSON line per request, with the request id the answer and the error pages carry."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from werkzeug.exceptions import InternalServerError

from server import create_app
from tests.api.wire import batch, event, post_json
from tests.factories import login, make_device, make_enterprise, make_gate, make_user
from tests.support import settings_for_tests


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "gatelog.request"]


def test_a_push_is_logged_with_its_device_and_never_its_token(client, caplog) -> None:
    gate = make_gate(make_enterprise())
    device, token = make_device(gate)
    with caplog.at_level(logging.INFO):
        response = post_json(
            client,
            "/sync/push",
            batch(event(1, gate.id, subject={"kind": "text", "value": "Nguyễn Thị Lạ"})),
            {"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200
    [line] = request_lines(caplog)
    assert line["device_id"] == device.id
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["route"] == "/api/v1/sync/push"
    assert line["status"] == 200
    assert line["duration_ms"] >= 0
    everything = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert token not in everything
    assert "Nguyễn" not in everything


def test_console_lines_name_the_route_never_the_search_typed(client, caplog) -> None:
    hr = make_user("hr", enterprise=make_enterprise())
    login(client, hr)
    caplog.clear()  # the sign-in's own line is not this test's subject
    with caplog.at_level(logging.INFO):
        response = client.get("/hr/roster/?q=Tran+Thi+Mai+0912345678")
    assert response.status_code == 200
    [line] = request_lines(caplog)
    assert line["route"] == "/hr/roster/"
    assert "Mai" not in json.dumps(line)
    assert "0912345678" not in json.dumps(line)
    assert line["device_id"] is None


def test_every_answer_carries_a_new_request_id(client) -> None:
    first, second = client.get("/healthz"), client.get("/healthz")
    assert len(first.headers["X-Request-ID"]) == 32
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


def test_a_proxys_request_id_is_kept_and_a_strange_one_replaced(client) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "caddy-7f3a9c21"})
    assert kept.headers["X-Request-ID"] == "caddy-7f3a9c21"
    replaced = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert replaced.headers["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(replaced.headers["X-Request-ID"]) == 32


def test_error_pages_show_the_request_id(client) -> None:
    response = client.get("/hr/no-such-page")
    assert response.status_code == 404
    assert response.headers["X-Request-ID"] in response.get_data(as_text=True)


def test_a_server_error_page_shows_the_request_id_logged_with_it(app, caplog) -> None:
    failing = create_app(settings_for_tests(app.config["SQLALCHEMY_DATABASE_URI"]))

    @failing.get("/boom")
    def boom() -> str:
        raise RuntimeError("a bug")

    with caplog.at_level(logging.INFO):
        response = failing.test_client().get("/boom", headers={"Accept-Language": "vi"})
    assert response.status_code == InternalServerError.code
    request_id = response.headers["X-Request-ID"]
    page = response.get_data(as_text=True)
    assert request_id in page
    assert "Mã yêu cầu" in page
    assert "a bug" not in page
    [line] = request_lines(caplog)
    assert line == {**line, "request_id": request_id, "status": 500, "level": "error"}
