"""Signing in, roles' landing pages, languages, CSRF and login rate limits."""

from __future__ import annotations

import pytest

from server import create_app
from server.settings import DEV_SECRET, SettingsError
from tests.factories import (
    PASSWORD,
    login,
    make_enterprise,
    make_gate,
    make_user,
    make_worker,
    make_zone,
)
from tests.support import settings_for_tests


def test_each_role_lands_on_its_own_page_in_vietnamese_then_english(client) -> None:
    zone = make_zone()
    enterprise = make_enterprise(zone_id=zone.id)
    make_worker(enterprise)
    users = {
        "hr": (
            make_user("hr", enterprise=enterprise),
            "/hr/",
            "Người lao động đang làm việc",
            "Active workers",
        ),
        "inspector": (
            make_user("inspector", zones=(zone,)),
            "/board/",
            "Doanh nghiệp",
            "Enterprises",
        ),
        "admin": (make_user("admin"), "/admin/", "Quản trị", "Administration"),
    }
    for user, home, vietnamese, english in users.values():
        response = client.post(
            "/auth/login", data={"username": user.username, "password": PASSWORD}
        )
        assert response.headers["Location"] == home
        page = client.get(home).get_data(as_text=True)
        assert vietnamese in page
        assert 'lang="vi"' in page
        client.post("/auth/language/en", data={"next": home})
        page = client.get(home).get_data(as_text=True)
        assert english in page
        assert 'lang="en"' in page
        client.post("/auth/logout")


def test_language_choice_is_remembered_for_the_user(client) -> None:
    user = make_user("admin")
    login(client, user)
    client.post("/auth/language/en")
    client.post("/auth/logout")
    login(client, user)
    assert "Administration" in client.get("/admin/").get_data(as_text=True)


def test_wrong_password_and_inactive_user_are_refused_alike(client) -> None:
    user = make_user("hr", enterprise=make_enterprise())
    inactive = make_user("hr", enterprise=make_enterprise(), active=False)
    for username, password in (
        (user.username, "wrong"),
        (inactive.username, PASSWORD),
        ("nobody", "x"),
    ):
        response = client.post("/auth/login", data={"username": username, "password": password})
        assert response.status_code == 200
        assert "Sai tên đăng nhập hoặc mật khẩu." in response.get_data(as_text=True)
    assert client.get("/hr/").status_code == 302


def test_login_redirects_only_to_same_site_paths(client) -> None:
    user = make_user("admin")
    response = client.post(
        "/auth/login?next=https://evil.example/x",
        data={"username": user.username, "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/"


def test_login_attempts_are_rate_limited(client) -> None:
    for _ in range(10):
        client.post("/auth/login", data={"username": "someone", "password": "guess"})
    response = client.post("/auth/login", data={"username": "someone", "password": "guess"})
    assert response.status_code == 429
    assert "Quá nhiều lần thử" in response.get_data(as_text=True)


@pytest.mark.usefixtures("csrf_enabled")
def test_forms_without_csrf_token_are_refused(client) -> None:
    user = make_user("admin")
    response = client.post("/auth/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 400
    assert "Biểu mẫu đã hết hạn" in response.get_data(as_text=True)
    assert client.get("/admin/").status_code == 302


def test_hr_overview_shows_true_figures(client) -> None:
    enterprise = make_enterprise()
    make_gate(enterprise)
    for _ in range(3):
        make_worker(enterprise)
    make_worker(enterprise, active=False)
    login(client, make_user("hr", enterprise=enterprise))
    page = client.get("/hr/").get_data(as_text=True)
    assert "<dd>3</dd>" in page  # active workers only


def test_production_refuses_to_start_with_the_development_secret() -> None:
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        create_app(settings_for_tests("sqlite://", secret_key=DEV_SECRET, testing=False))


def test_session_cookie_is_secure_by_default_outside_debug(monkeypatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    monkeypatch.delenv("GATELOG_DEBUG", raising=False)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    app = create_app({"database_url": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
