"""Bearer-token authentication of enrolled devices."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import g, request
from sqlalchemy import select

from server.api.errors import ApiError
from server.extensions import db
from server.models import Device
from server.tokens import hash_secret
from sync.store import DeviceContext

F = TypeVar("F", bound=Callable[..., Any])


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def device_required(view: F) -> F:
    """Call the view with the token's `device`; 401 for a missing, unknown or revoked token."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = bearer_token()
        if token is None or len(token) > 200:
            raise ApiError("unauthorized")
        found = db.session.execute(
            select(Device.id, Device.enterprise_id, Device.revoked_at).where(
                Device.token_hash == hash_secret(token)
            )
        ).one_or_none()
        if found is None:
            raise ApiError("unauthorized")
        if found.revoked_at is not None:
            raise ApiError("device_revoked")
        g.device_id = found.id
        return view(*args, device=DeviceContext(found.id, found.enterprise_id), **kwargs)

    return wrapper  # type: ignore[return-value]
