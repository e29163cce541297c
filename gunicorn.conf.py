"""gunicorn's settings file, read from the working directory by default (Procfile, make run)."""

from server.serving import child_exit, on_starting

__all__ = ["child_exit", "on_starting"]
