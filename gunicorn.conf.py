"""gunicorn's settings file, read from the working directory by default (Procfile, make run)."""

from server.serving import child_exit, on_starting, post_worker_init

__all__ = ["child_exit", "on_starting", "post_worker_init"]
