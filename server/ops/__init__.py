"""Operations: health probes, Prometheus metrics and the JSON request log."""

from server.ops.routes import bp

__all__ = ["bp"]
