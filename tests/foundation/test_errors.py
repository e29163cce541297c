"""Errors answer with a clear message: a page for people, JSON for devices, never a trace."""

from __future__ import annotations

from server import MAX_UPLOAD_BYTES, create_app
from tests.factories import login, make_user
from tests.support import settings_for_tests


def test_oversized_upload_is_refused_before_it_is_read(client) -> None:
    response = client.post(
        "/auth/login", data={"username": "x" * (MAX_UPLOAD_BYTES + 1), "password": "x"}
    )
    assert response.status_code == 413
    assert "Tệp tải lên quá lớn." in response.get_data(as_text=True)


def test_unknown_api_route_answers_json(client) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert response.get_json()["error"]["message_vi"]


def test_unknown_console_page_is_a_page_in_vietnamese(client) -> None:
    login(client, make_user("admin"))
    response = client.get("/admin/no-such-page")
    assert response.status_code == 404
    assert "Trang này không tồn tại" in response.get_data(as_text=True)


def test_unexpected_failure_shows_no_stack_trace(tmp_path) -> None:
    app = create_app(settings_for_tests(f"sqlite:///{tmp_path / 'errors.sqlite3'}"))

    @app.get("/__explode")
    def explode():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/__explode")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in body
    assert "Traceback" not in body
    assert "Đã có lỗi từ phía hệ thống" in body


def test_a_wrong_method_is_405_naming_the_methods_the_url_takes(client) -> None:
    api = client.delete("/api/v1/sync/push")
    page = client.put("/auth/login")

    assert (api.status_code, api.headers["Allow"]) == (405, "OPTIONS, POST")
    assert api.get_json()["error"]["code"] == "method_not_allowed"
    assert page.status_code == 405
    assert set(page.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}
