"""The device API under /api/v1: what gate tablets and the reference client speak (PROTOCOL.md)."""

from server.api.routes import bp

__all__ = ["bp"]
