"""Driving the machine's Chromium from tests: where it is, how it starts, what to do without it."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from werkzeug.serving import make_server

# The closed network here refuses Chromium's background connections; these flags stop it trying.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """The browser to drive: CHROMIUM_PATH, else Debian's /usr/bin/chromium."""
    path = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    return path if os.access(path, os.X_OK) else None


def require_chromium() -> str:
    """The browser's path; without one CI fails and elsewhere the test skips, loudly."""
    path = chromium_path()
    if path is None:
        message = (
            "NO CHROMIUM at CHROMIUM_PATH or /usr/bin/chromium: browser tests did NOT run. "
            "Install it with `apt-get install chromium`."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        print(f"\n{'!' * 20} {message} {'!' * 20}", file=sys.stderr)
        pytest.skip(message)
    return path


@contextmanager
def serve_in_thread(app: Flask) -> Iterator[str]:
    """`app` served on a free port of 127.0.0.1 by a thread, stopped on exit."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
