"""Access control in one place: role checks and the query scope every console view uses."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import ColumnElement, Select, false, func, select, true

from server.extensions import db
from server.models import Enterprise, User, Zone

F = TypeVar("F", bound=Callable[..., Any])
M = TypeVar("M")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def role_required(*roles: str) -> Callable[[F], F]:
    """Let in only signed-in users holding one of `roles`; others get 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        @login_required
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def _enterprise_ids_of(user: User) -> Select[int]:
    """The enterprises an hr user or an inspector may see."""
    if user.role == "hr":
        return select(Enterprise.id).where(Enterprise.id == (user.enterprise_id or -1))
    return select(Enterprise.id).where(Enterprise.zone_id.in_([zone.id for zone in user.zones]))


def enterprise_ids_visible_to(user: User) -> Select[int] | None:
    """A subquery of the enterprises `user` may see, or None when it may see all."""
    return None if user.role == "admin" else _enterprise_ids_of(user)


def scope_clause(model: type[Any], user: User) -> ColumnElement[bool]:
    """The WHERE clause that limits `model` rows to what `user` may see."""
    if user.role == "admin":
        return true()
    if model is Zone:
        if user.role == "inspector":
            return Zone.id.in_([zone.id for zone in user.zones])
        enterprise = db.session.get(Enterprise, user.enterprise_id) if user.enterprise_id else None
        return Zone.id == enterprise.zone_id if enterprise and enterprise.zone_id else false()
    visible = _enterprise_ids_of(user)
    if model is Enterprise:
        return Enterprise.id.in_(visible)
    if model is User:
        # Console users are managed by administrators only.
        return User.id == user.id
    column = getattr(model, "enterprise_id", None)
    if column is None:
        raise TypeError(f"{model.__name__} has no enterprise scope")
    return column.in_(visible)


def scoped(model: type[M], user: User | None = None) -> Select[M]:
    """`select(model)` restricted to the rows the (current) user may see."""
    return select(model).where(scope_clause(model, user or current_user))


def get_scoped_or_404(model: type[M], ident: Any, user: User | None = None) -> M:
    """One row by primary key, or 404 when it does not exist or is out of the user's scope."""
    primary_key = model.__mapper__.primary_key[0]  # type: ignore[attr-defined]
    row = db.session.scalar(scoped(model, user).where(primary_key == ident))
    if row is None:
        abort(404)
    return row


def count_scoped(model: type[Any], user: User, *criteria: ColumnElement[bool]) -> int:
    """How many `model` rows matching `criteria` the user may see."""
    primary_key = model.__mapper__.primary_key[0]
    query = select(func.count(primary_key)).where(scope_clause(model, user), *criteria)
    return db.session.scalar(query) or 0
