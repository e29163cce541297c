"""gunicorn's settings file, read from the working directory by default (Procfile, make run).

Only gunicorn knows how many workers will serve, so the check that rate limits hold across them
runs here, before any worker starts.
"""

from __future__ import annotations

from typing import Any

from server.settings import Settings


def on_starting(server: Any) -> None:
    """Refuse to start when each worker would keep its own login-attempt counts."""
    Settings.from_env().check_rate_limit_storage(processes=server.cfg.workers)
