"""A session ends on the server: a copied cookie dies with logout, a password change or reset,
and deactivation."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from server.extensions import db
from server.models import AuditLog
from tests.factories import PASSWORD, login, make_enterprise, make_user

NEW_PASSWORD = "lantern river autumn"


def copy_of_session(app: Flask, client: Any) -> Any:
    """A second browser holding a copy of `client`'s session cookie, as a thief would."""
    cookie = client.get_cookie("session")
    assert cookie is not None
    thief = app.test_client()
    thief.set_cookie("session", cookie.value)
    return thief


def is_signed_in(client: Any) -> bool:
    response = client.get("/hr/")
    if response.status_code == 302:
        assert "/auth/login" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


@pytest.fixture
def hr(app: Flask) -> Any:
    """An hr user of a fresh enterprise."""
    return make_user("hr", enterprise=make_enterprise())


def test_copied_cookie_is_refused_after_logout(app: Flask, client, hr) -> None:
    login(client, hr)
    thief = copy_of_session(app, client)
    assert is_signed_in(thief)
    client.post("/auth/logout")
    assert not is_signed_in(client)
    assert not is_signed_in(thief)


def test_logout_ends_the_users_sessions_in_every_browser(app: Flask, hr) -> None:
    office, home = app.test_client(), app.test_client()
    login(office, hr)
    login(home, hr)
    office.post("/auth/logout")
    assert not is_signed_in(home)
    login(home, hr)
    assert is_signed_in(home)


def test_copied_cookie_is_refused_after_an_administrators_reset(app: Flask, client, hr) -> None:
    login(client, hr)
    thief = copy_of_session(app, client)
    admin = app.test_client()
    login(admin, make_user("admin"))
    response = admin.post(f"/admin/users/{hr.id}/password", data={"password": NEW_PASSWORD})
    assert response.status_code == 302
    assert not is_signed_in(thief)
    assert not is_signed_in(client)
    login(client, hr, NEW_PASSWORD)
    assert is_signed_in(client)


def test_deactivation_ends_sessions_and_reactivation_does_not_revive_them(
    app: Flask, client, hr
) -> None:
    login(client, hr)
    thief = copy_of_session(app, client)
    admin = app.test_client()
    login(admin, make_user("admin"))
    fields = {"username": hr.username, "role": "hr", "enterprise_id": str(hr.enterprise_id)}
    admin.post(f"/admin/users/{hr.id}", data=fields)  # no "active": the box is unticked
    assert not is_signed_in(thief)
    admin.post(f"/admin/users/{hr.id}", data={**fields, "active": "y"})
    db.session.refresh(hr)
    assert hr.active is True
    assert not is_signed_in(thief)
    assert not is_signed_in(client)


def test_own_password_change_keeps_this_session_and_ends_the_others(app: Flask, client, hr) -> None:
    login(client, hr)
    other = app.test_client()
    login(other, hr)
    thief = copy_of_session(app, client)
    response = client.post(
        "/auth/password",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert is_signed_in(client)
    assert not is_signed_in(other)
    assert not is_signed_in(thief)
    db.session.refresh(hr)
    assert hr.check_password(NEW_PASSWORD)
    audit = db.session.query(AuditLog).filter_by(action="auth.password_changed").one()
    assert audit.user_id == hr.id


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"current_password": "wrong"}, "Mật khẩu hiện tại không đúng."),
        ({"password": "password1234", "confirm": "password1234"}, "quá phổ biến"),
        ({"confirm": "something else entirely"}, "không giống nhau"),
    ],
)
def test_refused_password_change_says_why_and_changes_nothing(
    app: Flask, client, hr, fields: dict[str, str], message: str
) -> None:
    login(client, hr)
    other = app.test_client()
    login(other, hr)
    data = {"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    response = client.post("/auth/password", data={**data, **fields})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)
    db.session.refresh(hr)
    assert hr.check_password(PASSWORD)
    assert is_signed_in(other)


def test_password_page_speaks_english_too(client, hr) -> None:
    login(client, hr)
    client.post("/auth/language/en")
    response = client.post(
        "/auth/password",
        data={"current_password": PASSWORD, "password": "aaaaaaaaaaaa", "confirm": "aaaaaaaaaaaa"},
    )
    assert "This password is too common or too easy to guess." in response.get_data(as_text=True)
    assert "Change password" in client.get("/auth/password").get_data(as_text=True)


@pytest.mark.usefixtures("csrf_enabled")
def test_password_change_without_csrf_token_is_refused(client, hr) -> None:
    page = client.get("/auth/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post(
        "/auth/login", data={"username": hr.username, "password": PASSWORD, "csrf_token": token}
    )
    assert 'name="csrf_token"' in client.get("/auth/password").get_data(as_text=True)
    response = client.post(
        "/auth/password",
        data={"current_password": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 400
    db.session.refresh(hr)
    assert hr.check_password(PASSWORD)
