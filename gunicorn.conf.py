"""gunicorn's settings file, read from the working directory by default (Procfile, make run)."""

from server.serving import on_starting

__all__ = ["on_starting"]
