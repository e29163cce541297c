"""One password policy for the admin form, the self-service change and the command line."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import User
from server.passwords import password_problem
from tests.factories import PASSWORD, login, make_enterprise, make_user


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("a", "too_short"),
        ("password12", "too_short"),
        ("aaaaaaaaaaaa", "guessable"),
        ("password1234", "guessable"),
        ("qwertyuiop12", "guessable"),
        ("matkhau123456", "guessable"),
        ("nguyenvana-secret", "contains_username"),
        ("NguyenVanA bên bờ sông", "contains_username"),
        ("x" * 201, "too_long"),
        ("lantern river autumn", None),
        ("một buổi sáng mùa thu ở Hà Nội", None),
        (
            "chiều nay trời mưa to nên tôi ở nhà đọc sách, uống trà và nghe đài "
            "phát thanh về các làng nghề truyền thống ven sông Hồng",
            None,
        ),
    ],
)
def test_policy_wants_length_and_refuses_common_and_personal_passwords(
    password: str, problem: str | None
) -> None:
    assert password_problem(password, username="nguyenvana") == problem


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("aaaaaaaaaa", "Mật khẩu phải có ít nhất 12 ký tự."),
        ("aaaaaaaaaaaaaaaa", "Mật khẩu này quá phổ biến hoặc quá dễ đoán."),
        ("password12", "Mật khẩu phải có ít nhất 12 ký tự."),
        ("nhansu9-lantern-river", "Mật khẩu không được chứa tên đăng nhập."),
    ],
)
def test_admin_reset_refuses_a_weak_password_and_says_why(
    client, password: str, message: str
) -> None:
    login(client, make_user("admin"))
    hr = make_user("hr", enterprise=make_enterprise(), username="nhansu9")
    response = client.post(f"/admin/users/{hr.id}/password", data={"password": password})
    assert message in client.get(response.headers["Location"]).get_data(as_text=True)
    db.session.refresh(hr)
    assert hr.check_password(PASSWORD)


def test_admin_cannot_create_a_user_with_a_password_equal_to_the_username(client) -> None:
    login(client, make_user("admin"))
    enterprise = make_enterprise()
    response = client.post(
        "/admin/users",
        data={
            "username": "nhansu.kho",
            "role": "hr",
            "enterprise_id": str(enterprise.id),
            "password": "nhansu.kho12",
        },
    )
    assert response.status_code == 200
    assert "Mật khẩu không được chứa tên đăng nhập." in response.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "nhansu.kho")) is None


@pytest.mark.parametrize(
    ("password", "english"),
    [
        ("a", "at least 12 characters"),
        ("password1234", "too common or too easy to guess"),
        ("quantri1-lantern", "must not contain the username"),
    ],
)
def test_create_user_refuses_a_weak_administrator_password(app, password, english) -> None:
    result = app.test_cli_runner().invoke(
        args=["create-user", "--username", "quantri1", "--role", "admin", "--password", password]
    )
    assert result.exit_code != 0
    assert english in result.output
    assert "Mật khẩu" in result.output
    assert db.session.scalar(select(User).where(User.username == "quantri1")) is None
