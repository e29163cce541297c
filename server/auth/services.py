"""Signing in and out, one's own password and personal preferences."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from server.audit import record_audit
from server.extensions import db
from server.models import User

# Checked against when the username is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_USER = User(password_hash="scrypt:32768:8:1$abcdefghijklmnop$" + "0" * 128)


def authenticate(username: str, password: str, *, now: datetime) -> User | None:
    """The active user with these credentials, its last login stamped; None otherwise."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        _DUMMY_USER.check_password(password)
        return None
    if not user.check_password(password) or not user.active:
        return None
    user.last_login_at = now
    db.session.flush()
    return user


def sign_out_everywhere(user: User) -> None:
    """End every session of `user`: a copied cookie stops working with the one signed out."""
    user.end_sessions()
    db.session.flush()


def change_own_password(user: User, current: str, new: str, *, now: datetime) -> bool:
    """Set `user`'s new password if `current` is theirs; every other session ends. False if not."""
    if not user.check_password(current):
        return False
    user.set_password(new)
    record_audit(user, "auth.password_changed", now=now, target_type="user", target_id=user.id)
    db.session.flush()
    return True


def set_language(user: User, language: str) -> None:
    user.language = language
    db.session.flush()
