"""The device API under /api/v1: what gate tablets and the reference client speak (PROTOCOL.md)."""

from server.api import openapi as openapi_routes  # noqa: F401 - attaches its route to bp
from server.api import rollcall as rollcall_routes  # noqa: F401 - attaches its routes to bp
from server.api import wipes as wipe_routes  # noqa: F401 - attaches its routes to bp
from server.api.routes import bp

__all__ = ["bp"]
