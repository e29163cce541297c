"""The login limit holds across gunicorn workers: counted in Redis, refused with per-process counts.

These start real gunicorn processes from the repository root, so gunicorn reads gunicorn.conf.py
as the Procfile's does.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from flask import Flask

from tests.factories import PASSWORD, make_user
from tests.sync.test_process import Gunicorn, free_port

ROOT = Path(__file__).resolve().parents[2]
# Redis database 1 of the machine's Redis unless the run names another (see .ci/run).
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/1")
# The documented default count ("10 per minute"), over an hour so no test run outlasts a window.
LOGIN_LIMIT = "10 per hour"


def production_env(**overrides: str) -> dict[str, str]:
    env = {**os.environ, "GATELOG_DEBUG": "0", "SESSION_COOKIE_SECURE": "0"}
    env.pop("RATELIMIT_STORAGE_URI", None)
    env.update(overrides)
    return env


@pytest.fixture
def two_workers(app: Flask, tmp_path: Path) -> Iterator[Gunicorn]:
    """gunicorn with 2 workers, production settings and the limiter's counts in Redis."""
    server = Gunicorn(
        app.config["SQLALCHEMY_DATABASE_URI"], free_port(), tmp_path / "gunicorn.log", workers=2
    )
    server.env.update(
        production_env(
            DATABASE_URL=server.env["DATABASE_URL"],
            SECRET_KEY=server.env["SECRET_KEY"],
            RATELIMIT_STORAGE_URI=REDIS_URL,
            LOGIN_RATE_LIMIT=LOGIN_LIMIT,
            # Other runs of this suite may share the Redis database: counts of their own.
            RATELIMIT_KEY_PREFIX=f"test-{secrets.token_hex(8)}",
            # Which worker answered each request: the pid starts each access-log line.
            GUNICORN_CMD_ARGS="--access-logfile - --access-logformat '%(p)s %(r)s %(s)s'",
        )
    )
    server.start()
    yield server
    server.stop()


class LoginPage:
    """A browser at the login page: its session cookie and the form's CSRF token."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/auth/login"
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        with self.opener.open(self.url, timeout=30) as response:
            page = response.read().decode()
        self.csrf_token = re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', page)[0]

    def post(self, username: str, password: str) -> int:
        form = {"username": username, "password": password, "csrf_token": self.csrf_token}
        try:
            with self.opener.open(
                self.url, data=urllib.parse.urlencode(form).encode(), timeout=30
            ) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code


def test_twenty_wrong_passwords_against_two_workers_are_limited_at_ten(
    app: Flask, two_workers: Gunicorn
) -> None:
    username = make_user("hr", enterprise=None).username
    page = LoginPage(two_workers.port)
    # Four at a time: while one sync worker checks a password, the other takes the next one.
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda _: page.post(username, "wrong guess"), range(20)))
    # The 21st attempt, with the right password, is refused too: the limit is per address.
    right = page.post(username, PASSWORD)
    assert sorted(statuses) == [200] * 10 + [429] * 10
    assert right == 429
    two_workers.stop()
    served_by = re.findall(r"^<(\d+)> POST /auth/login", two_workers.log.read_text(), re.MULTILINE)
    assert len(served_by) == 21
    assert len(set(served_by)) == 2


def test_production_refuses_per_process_counts_with_two_workers(app: Flask, tmp_path) -> None:
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "--bind",
            f"127.0.0.1:{free_port()}",
            "--workers",
            "2",
            "server:create_app()",
        ],
        cwd=ROOT,
        env=production_env(SECRET_KEY="x" * 40, RATELIMIT_STORAGE_URI="memory://"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "RATELIMIT_STORAGE_URI" in result.stderr
    assert "redis://" in result.stderr
