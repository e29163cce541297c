"""Real processes: gunicorn is killed with SIGKILL while the reference client streams pushes.

Whatever the kill interrupts (a request half read, a transaction half written, an answer half
sent), once gunicorn is back and the client drains, the server holds every event exactly once.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from server.extensions import db
from server.models import GateEvent
from sync.client import HttpTransport, SyncClient
from tests.factories import make_device, make_enterprise, make_gate

EVENTS = 3000
KILLS = 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start listening")


class Gunicorn:
    """gunicorn serving the app on 127.0.0.1, in its own process group so a kill takes all."""

    def __init__(
        self,
        database_url: str,
        port: int,
        log: Path,
        *,
        workers: int = 2,
        threads: int = 1,
        app: str = "server:create_app()",
    ) -> None:
        self.app = app
        self.port = port
        self.workers = workers
        self.threads = threads
        self.log = log
        self.env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": secrets.token_urlsafe(32),
            # Several workers with per-process rate-limit counts: allowed in debug only
            # (gunicorn.conf.py); tests/security proves the limit with Redis.
            "GATELOG_DEBUG": "1",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            str(Path(sys.executable).with_name("gunicorn")),
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(self.workers),
            "--threads",
            str(self.threads),
            self.app,
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=log, start_new_session=True
            )
        _wait_until_listening(self.port, self.process)

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)


@pytest.fixture
def gunicorn(app: Flask, tmp_path: Path) -> Iterator[Gunicorn]:
    """gunicorn over the test database on a free port; stopped at the end whatever happens."""
    database_url = app.config["SQLALCHEMY_DATABASE_URI"]
    server = Gunicorn(database_url, free_port(), tmp_path / "gunicorn.log")
    server.start()
    yield server
    server.stop()


def _backlog(outbox: Path) -> int:
    with sqlite3.connect(outbox) as peek:
        return peek.execute("SELECT count(*) FROM outbox").fetchone()[0]


def test_server_killed_mid_stream_and_restarted_stores_each_event_exactly_once(
    gunicorn: Gunicorn, tmp_path: Path
) -> None:
    gate = make_gate(make_enterprise())
    device, token = make_device(gate)
    outbox = tmp_path / "outbox.sqlite"
    transport = HttpTransport(f"http://127.0.0.1:{gunicorn.port}", timeout=10)
    client = SyncClient(outbox, transport, batch_size=100)
    client.use_token(device.id, token)
    for n in range(EVENTS):
        client.capture(
            gate_id=gate.id,
            direction="in" if n % 2 else "out",
            subject_kind="text",
            subject_value=f"Khách {n}",
            method="manual",
        )
    client.close()

    drained: dict[str, object] = {}

    def stream() -> None:
        streaming = SyncClient(outbox, transport, batch_size=100)
        try:
            drained["report"] = streaming.drain()
            streaming.heartbeat()
            drained["answer"] = streaming.last_answer
        finally:
            streaming.close()

    pusher = threading.Thread(target=stream)
    pusher.start()
    backlog_at_kill = []
    for kill in range(1, KILLS + 1):
        while _backlog(outbox) > EVENTS - kill * EVENTS // (KILLS + 2) and pusher.is_alive():
            time.sleep(0.005)
        gunicorn.kill()
        backlog_at_kill.append(_backlog(outbox))
        time.sleep(0.3)
        gunicorn.start()
    pusher.join(timeout=300)
    transport.close()

    assert not pusher.is_alive()
    assert all(0 < backlog < EVENTS for backlog in backlog_at_kill), backlog_at_kill
    assert drained["report"].failures >= KILLS
    assert _backlog(outbox) == 0
    db.session.rollback()
    rows = db.session.execute(
        select(
            func.count(), func.count(func.distinct(GateEvent.seq)), func.max(GateEvent.seq)
        ).where(GateEvent.device_id == device.id)
    ).one()
    assert tuple(rows) == (EVENTS, EVENTS, EVENTS)
    assert drained["answer"]["missing_ranges"] == []
    assert drained["answer"]["highest_seq"] == EVENTS


def test_simulator_enrols_with_codes_printed_by_flask_enroll_code_and_drains(
    gunicorn: Gunicorn, tmp_path: Path
) -> None:
    gate = make_gate(make_enterprise())
    flask = str(Path(sys.executable).with_name("flask"))
    codes = [
        subprocess.run(
            [flask, "--app", "server", "enroll-code", "--gate", str(gate.id)],
            env=gunicorn.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for _ in range(2)
    ]
    codes_file = tmp_path / "codes.txt"
    codes_file.write_text("\n".join(codes) + "\n")

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "sync.simulate",
            "--url",
            f"http://127.0.0.1:{gunicorn.port}",
            "--devices",
            "2",
            "--events",
            "200",
            "--codes-file",
            str(codes_file),
            "--offline-periods",
            "1",
            "--fault-rate",
            "0.2",
            "--seed",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads(run.stdout.splitlines()[-1])
    assert summary["captured"] == 400
    assert summary["healthy"] is True
    db.session.rollback()
    stored = db.session.scalar(
        select(func.count()).select_from(GateEvent).where(GateEvent.gate_id == gate.id)
    )
    assert stored == 400
    assert all(code.startswith("GL1:E:") for code in codes)
