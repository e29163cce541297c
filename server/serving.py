"""gunicorn server hooks: every gunicorn config file of the project imports them."""

from __future__ import annotations

from typing import Any

from server.settings import Settings


def on_starting(server: Any) -> None:
    """Refuse to start when each worker would keep its own login-attempt counts.

    Only gunicorn knows how many workers will serve, so this check runs in its master process,
    before any worker starts.
    """
    Settings.from_env().check_rate_limit_storage(processes=server.cfg.workers)
