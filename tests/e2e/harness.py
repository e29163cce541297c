"""What the browser tests and the gate app benchmark share: a real server process, a seeded
database, a proxy that can lose answers, and a tablet (a persistent Chromium profile)."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.browser import CHROMIUM_FLAGS, chromium_path
from tests.support import scratch_database

ROOT = Path(__file__).resolve().parents[2]
PWA_DIR = ROOT / "pwa"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
# Vietnamese names with every diacritic the search must fold, "Đ" included.
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Đặng", "Vũ", "Bùi"]
MIDDLES = ["Văn", "Thị", "Đức", "Minh", "Ngọc", "Quốc"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Đạt", "Hà", "Hương", "Khánh", "Lộc", "Mỹ", "Nhung", "Phúc"]
DEPARTMENTS = ["May 1", "May 2", "Cắt", "Hoàn thiện", "Kho"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(
    check: Callable[[], Any], timeout: float, message: str, interval: float = 0.2
) -> Any:
    """Poll until check() is truthy; fail with `message` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {message}")
        time.sleep(interval)


@contextlib.contextmanager
def e2e_database(tmp_dir: Path) -> Iterator[str]:
    """A database of the browser tests' own: SQLite in tmp_dir, or `<TEST_DATABASE_URL db>_e2e`,
    created here and dropped afterwards.

    The server runs in another process, so it cannot share the suite's per-test transactions;
    on PostgreSQL it gets a database beside the suite's rather than the suite's own.
    """
    with scratch_database(tmp_dir, "e2e") as url:
        yield url


def make_app(database_url: str) -> Flask:
    """An in-process app over the e2e database, to seed it and to read what the server stored."""
    from server import create_app
    from server.settings import Settings

    return create_app(Settings(secret_key="e2e-secret", database_url=database_url, testing=True))


def reset_schema(app: Flask) -> None:
    from server.extensions import db

    with app.app_context():
        db.drop_all()
        db.create_all()


@dataclass
class World:
    """What the seeded database holds, as the tests need it."""

    enterprise_name: str
    gates: list[dict[str, Any]]
    workers: list[dict[str, Any]]
    inactive_worker: dict[str, Any]
    pass_token: str
    expired_pass_token: str
    other_gate_id: int
    by_id: dict[int, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_id = {worker["id"]: worker for worker in self.workers}


def vietnamese_name(n: int) -> str:
    """A distinct full name for each n below 576."""
    surname = SURNAMES[n % len(SURNAMES)]
    middle = MIDDLES[n // len(SURNAMES) % len(MIDDLES)]
    given = GIVEN[n // (len(SURNAMES) * len(MIDDLES)) % len(GIVEN)]
    return f"{surname} {middle} {given}"


def seed_world(app: Flask, workers: int = 60) -> World:
    """One enterprise with two gates, `workers` workers, a deactivated one, two passes; another
    enterprise with a gate of its own."""
    from datetime import timedelta

    from server.extensions import db
    from server.models import utcnow
    from tests.factories import (
        make_enterprise,
        make_gate,
        make_visitor_pass,
        make_worker,
        make_zone,
    )

    with app.app_context():
        zone = make_zone()
        enterprise = make_enterprise(name="Công ty TNHH May Đồng Nai", zone_id=zone.id)
        gates = [
            make_gate(enterprise, code="G1", name="Cổng chính"),
            make_gate(enterprise, code="G2", name="Cổng sau"),
        ]
        people = []
        for n in range(workers):
            worker = make_worker(
                enterprise,
                employee_code=f"NV{n + 1:05d}",
                full_name=vietnamese_name(n),
                phone=f"0912{n + 1:06d}",
                department=DEPARTMENTS[n % len(DEPARTMENTS)],
            )
            people.append(_worker_dict(worker))
        inactive = make_worker(
            enterprise, full_name="Đỗ Thị Nghỉ Việc", employee_code="NV99999", active=False
        )
        now = utcnow()
        valid = make_visitor_pass(enterprise, full_name="Trần Thị Khách")
        expired = make_visitor_pass(
            enterprise,
            full_name="Lý Văn Hết Hạn",
            valid_from=now - timedelta(days=2),
            valid_until=now - timedelta(days=1),
        )
        other = make_enterprise(name="Công ty Khác")
        other_gate = make_gate(other, code="X1", name="Cổng khác")
        world = World(
            enterprise_name=enterprise.name,
            gates=[{"id": gate.id, "code": gate.code, "name": gate.name} for gate in gates],
            workers=people,
            inactive_worker=_worker_dict(inactive),
            pass_token=valid.token,
            expired_pass_token=expired.token,
            other_gate_id=other_gate.id,
        )
        db.session.remove()
    return world


def _worker_dict(worker: Any) -> dict[str, Any]:
    return {
        "id": worker.id,
        "code": worker.employee_code,
        "name": worker.full_name,
        "badge": worker.badge_token,
        "phone": worker.phone,
    }


def enrolment_code(app: Flask, gate_id: int) -> str:
    """A fresh "GL1:E:<code>", as the HR console's QR would hold."""
    from server.devices import issue_enrolment_code
    from server.extensions import db
    from server.models import Gate, utcnow

    with app.app_context():
        issued = issue_enrolment_code(db.session.get(Gate, gate_id), actor=None, now=utcnow())
        content = issued.qr_content
        db.session.commit()
        db.session.remove()
    return content


def stored_events(app: Flask) -> list[dict[str, Any]]:
    """Every gate event the server stored, oldest seq first."""
    from server.extensions import db
    from server.models import GateEvent

    with app.app_context():
        rows = db.session.scalars(select(GateEvent).order_by(GateEvent.seq)).all()
        events = [
            {
                "id": str(row.id),
                "seq": row.seq,
                "gate_id": row.gate_id,
                "direction": row.direction,
                "method": row.method,
                "worker_id": row.worker_id,
                "subject_kind": row.subject_kind,
                "subject_value": row.subject_value,
                "flags": list(row.flags or []),
                "visitor_details": row.visitor_details,
            }
            for row in rows
        ]
        db.session.remove()
    return events


def copy_pwa(target: Path) -> Path:
    """A deployable copy of pwa/, so a test can ship a new version without touching the tree."""
    shutil.copytree(PWA_DIR, target, ignore=shutil.ignore_patterns("node_modules"))
    return target


VERSION_FILES = ("js/version.js", "sw.js")


def app_version(pwa_root: Path, relative: str) -> str:
    """The APP_VERSION a file of the gate app declares."""
    text = (pwa_root / relative).read_text(encoding="utf-8")
    start = text.index("APP_VERSION = '") + len("APP_VERSION = '")
    return text[start : text.index("'", start)]


def bump_version(pwa_root: Path, version: str) -> None:
    """Deploy a new app version, as a release would: every file that names it."""
    for relative in VERSION_FILES:
        path = pwa_root / relative
        text = path.read_text(encoding="utf-8")
        old = app_version(pwa_root, relative)
        path.write_text(
            text.replace(f"APP_VERSION = '{old}'", f"APP_VERSION = '{version}'"), encoding="utf-8"
        )


class LiveServer:
    """The app under gunicorn in its own process group, on a fixed loopback port across restarts
    (the tablet's storage belongs to its origin, port included)."""

    def __init__(
        self, database_url: str, pwa_root: Path, log_path: Path, port: int | None = None
    ) -> None:
        self.database_url = database_url
        self.pwa_root = pwa_root
        self.log_path = log_path
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "GATELOG_DEBUG": "1",
            "SESSION_COOKIE_SECURE": "0",
            "GATELOG_E2E_PWA_ROOT": str(self.pwa_root),
        }
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            "1",
            "--threads",
            "8",
            "--graceful-timeout",
            "2",
            "tests.e2e.wsgi:build()",
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until(self._answers, 30, f"server on {self.url} did not start; see {self.log_path}")

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise AssertionError(
                f"server exited with {self.process.returncode}; see {self.log_path}"
            )
        try:
            with urllib.request.urlopen(f"{self.url}/manifest.webmanifest", timeout=2) as response:  # noqa: S310
                return response.status == 200
        except OSError:
            return False

    def kill(self) -> None:
        """Stop the whole process group at once, as a power cut or a crash would."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None


class LossyProxy:
    """A loopback HTTP proxy in front of the server that can lose what the tablet should hear.

    drop_push_answers: forward that many pushes carrying events, let the server commit them, and
    then close the connection without answering. block_pushes: answer every push 503 without
    forwarding it (the server is "down" for sync only). settle_nothing: answer every push
    `200 {}` without forwarding it, as a captive portal or a broken proxy would. `pushes` counts
    the pushes that reached the proxy. max_push_events: answer 413 to a push carrying more
    events (the tablet halves its batch). forward_event_pushes: forward only that many pushes
    carrying events, then answer 503 to the rest.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.drop_push_answers = 0
        self.dropped = 0
        self.block_pushes = False
        self.settle_nothing = False
        self.pushes = 0
        self.max_push_events: int | None = None
        self.forward_event_pushes: int | None = None
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _relay(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                is_push = self.path.startswith("/api/v1/sync/push")
                if is_push:
                    proxy.pushes += 1
                if is_push and proxy.settle_nothing:
                    self._answer(200, {"Content-Type": "application/json"}, b"{}")
                    return
                carried = _event_count(body, self.headers) if is_push else 0
                if proxy.max_push_events is not None and carried > proxy.max_push_events:
                    self._answer(413, {"Content-Type": "application/json"}, b"{}")
                    return
                if carried and proxy.forward_event_pushes is not None:
                    if proxy.forward_event_pushes <= 0:
                        self._answer(
                            503, {"Retry-After": "1", "Content-Type": "application/json"}, b"{}"
                        )
                        return
                    proxy.forward_event_pushes -= 1
                if is_push and proxy.block_pushes:
                    self._answer(
                        503, {"Retry-After": "1", "Content-Type": "application/json"}, b"{}"
                    )
                    return
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=60)
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in {"host", "connection"}
                }
                upstream.request(self.command, self.path, body=body, headers=headers)
                response = upstream.getresponse()
                payload = response.read()
                upstream.close()
                if is_push and proxy.drop_push_answers and carried:
                    proxy.drop_push_answers -= 1
                    proxy.dropped += 1
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                passed = {
                    k: v
                    for k, v in response.getheaders()
                    if k.lower()
                    not in {"connection", "transfer-encoding", "content-length", "keep-alive"}
                }
                self._answer(response.status, passed, payload)

            def _answer(self, status: int, headers: dict[str, str], payload: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = _relay
            do_POST = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> LossyProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _event_count(body: bytes | None, headers: Any) -> int:
    if not body:
        return 0
    if (headers.get("Content-Encoding") or "").lower() == "gzip":
        body = gzip.decompress(body)
    return len(json.loads(body).get("events") or [])


class Tablet:
    """A gate tablet: Chromium with a profile directory that outlives closing the browser."""

    def __init__(
        self,
        playwright: Any,
        profile_dir: Path,
        base_url: str,
        extra_args: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.playwright = playwright
        self.profile_dir = profile_dir
        self.base_url = base_url
        self.extra_args = list(extra_args)
        # The browser's environment: a HOME of its own gives it its own certificate store.
        self.env = env
        self.context: Any = None
        self.page: Any = None
        self.console: list[str] = []

    def open(self, viewport: dict[str, int] | None = None) -> Tablet:
        self.context = self.playwright.chromium.launch_persistent_context(
            str(self.profile_dir),
            executable_path=chromium_path(),
            headless=True,
            args=CHROMIUM_FLAGS + self.extra_args,
            viewport=viewport or {"width": 1280, "height": 800},
            locale="vi-VN",
            timezone_id="Asia/Ho_Chi_Minh",
            env=self.env,
        )
        # Chrome allows Background Sync unless the user blocks it; Playwright denies what it is
        # not told to grant.
        self.context.grant_permissions(["camera", "background-sync"], origin=self.base_url)
        self.page = self.context.pages[0] if self.context.pages else self.context.new_page()
        self.page.on(
            "console", lambda message: self.console.append(f"{message.type}: {message.text}")
        )
        self.page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))
        self.load()
        return self

    def load(self) -> None:
        self.page.goto(self.base_url + "/")
        self.page.wait_for_selector("body[data-ready='true']", timeout=20000)

    def reload(self) -> None:
        self.page.reload()
        self.page.wait_for_selector("body[data-ready='true']", timeout=20000)

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
        self.context = None
        self.page = None

    # Predicates are written as functions: the site's CSP forbids eval, which Playwright needs to
    # poll a bare expression.
    def wait_for_service_worker(self) -> None:
        self.page.wait_for_function(
            "() => navigator.serviceWorker.controller?.state === 'activated'",
            timeout=20000,
        )

    def enrol(self, code: str, gate_name: str | None = None) -> None:
        self.page.fill("#enrol-code", code)
        self.page.click("#enrol-form button[type=submit]")
        if gate_name:
            self.page.click(f"#gate-list button:has-text('{gate_name}')")
        self.page.wait_for_selector("#gate-view:not([hidden])", timeout=15000)

    def wait_for_roster(self, size: int) -> None:
        self.page.wait_for_function(
            f"() => Number(document.querySelector('#roster-info').dataset.count) >= {size}",
            timeout=60000,
        )

    def pick(self, query: str, person_id: int, direction: str | None = None) -> None:
        """Search the roster and record the person with one tap (proposed direction or other)."""
        self.page.fill("#search", query)
        row = self.page.locator(f"#results li[data-person-id='{person_id}']")
        button = (
            row.locator(f"button[data-direction='{direction}']")
            if direction
            else row.locator("button.primary")
        )
        button.click()
        self.wait_saved()

    def scan(self, content: str) -> None:
        """A handheld scanner: keystrokes and Enter, with no field focused."""
        self.page.evaluate("document.activeElement && document.activeElement.blur()")
        self.page.keyboard.type(content)
        self.page.keyboard.press("Enter")
        self.wait_saved()

    def wait_saved(self) -> None:
        # A strict-durability IndexedDB write waits for the disk: on a busy CI machine that has
        # taken over 10 s, so the wait is generous (it ends as soon as the card says saved).
        self.page.wait_for_selector("#feedback[data-state='saved']", timeout=30000)
        self.page.evaluate("document.querySelector('#feedback').dataset.state = ''")

    def waiting(self) -> int:
        return int(self.page.get_attribute("#st-waiting", "data-count") or -1)

    def wait_waiting(self, count: int, timeout: float) -> None:
        self.page.wait_for_function(
            f"() => document.querySelector('#st-waiting').dataset.count === '{count}'",
            timeout=timeout * 1000,
        )

    def screenshot(self, name: str, full_page: bool = False) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path
