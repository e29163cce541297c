"""The gate app over HTTPS, as on a zone's LAN: Caddy with its internal CA (`tls internal`, as in
deploy/Caddyfile.lan) in front of gunicorn, its root trusted in the tablet's own certificate
store (never by ignoring certificate errors), a host name that is not localhost (so only HTTPS
makes the page a secure context), and the offline round trip: service worker, enrolment, server
stopped, scans kept, server back, every record stored once."""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser import CHROMIUM_FLAGS, require_chromium
from tests.e2e.harness import ROOT, Tablet, enrolment_code, free_port, stored_events, wait_until

HOST = "gate.test"
DRAIN_TIMEOUT = 90


def require(program: str, package: str) -> str:
    """The program's path; without it CI fails and elsewhere the test skips, loudly."""
    path = shutil.which(program)
    if path is None:
        message = (
            f"NO {program.upper()}: the HTTPS browser test did NOT run. "
            f"Install it with `apt-get install {package}`."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        print(f"\n{'!' * 20} {message} {'!' * 20}", file=sys.stderr)
        pytest.skip(message)
    return path


def lan_caddyfile(tmp_path: Path, https_port: int, http_port: int, upstream_port: int) -> str:
    """deploy/Caddyfile.lan as shipped, moved onto this test's host name, ports and folders."""
    shipped = (ROOT / "deploy" / "Caddyfile.lan").read_text()
    global_end = shipped.index("\n}\n") + 3
    test_globals = f"""{{
\tadmin off
\tstorage file_system {tmp_path / "caddy-data"}
\tskip_install_trust
\thttp_port {http_port}
\thttps_port {https_port}
}}
"""
    config = test_globals + shipped[global_end:]
    moves = {
        "https://192.168.1.10, https://gatelog.lan": f"https://{HOST}:{https_port}",
        "http://192.168.1.10, http://gatelog.lan": f"http://{HOST}:{http_port}",
        "/var/lib/caddy/.local/share/caddy/pki/authorities/local": str(ca_dir(tmp_path)),
        "127.0.0.1:8000": f"127.0.0.1:{upstream_port}",
        "/var/log/caddy/gatelog-access.log": str(tmp_path / "caddy-access.log"),
    }
    for shipped_text, here in moves.items():
        # A changed deploy file must change this test too, never slip past it.
        assert shipped_text in config, f"deploy/Caddyfile.lan no longer has {shipped_text!r}"
        config = config.replace(shipped_text, here)
    return config


def ca_dir(tmp_path: Path) -> Path:
    """Where Caddy keeps its internal CA, under the test's storage folder."""
    return tmp_path / "caddy-data" / "pki" / "authorities" / "local"


def verified_handshake(port: int, root: Path) -> bool:
    """Caddy answers TLS on the port with a certificate for HOST that its root vouches for."""
    context = ssl.create_default_context(cafile=str(root))
    try:
        with (
            socket.create_connection(("127.0.0.1", port), timeout=2) as raw,
            context.wrap_socket(raw, server_hostname=HOST),
        ):
            return True
    except (OSError, ssl.SSLError):
        return False


class LoopbackHTTPS(http.client.HTTPSConnection):
    """HTTPS to HOST (a name only the browser's resolver rule knows) at 127.0.0.1, verified
    against one root certificate."""

    def __init__(self, port: int, root: Path) -> None:
        self.verifier = ssl.create_default_context(cafile=str(root))
        super().__init__(HOST, port, timeout=10, context=self.verifier)

    def connect(self) -> None:
        raw = socket.create_connection(("127.0.0.1", self.port), self.timeout)
        self.sock = self.verifier.wrap_socket(raw, server_hostname=HOST)


@dataclass
class Caddy:
    https_port: int
    http_port: int
    root: Path

    def get(self, path: str, *, secure: bool = True) -> tuple[int, dict[str, str], bytes]:
        """GET for HOST from Caddy: over verified HTTPS, or over plain HTTP."""
        connection = (
            LoopbackHTTPS(self.https_port, self.root)
            if secure
            else http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=10)
        )
        port = self.https_port if secure else self.http_port
        connection.request("GET", path, headers={"Host": f"{HOST}:{port}"})
        response = connection.getresponse()
        # Header names in lower case: Caddy (Go) rewrites X-Request-ID as X-Request-Id.
        headers = {name.lower(): value for name, value in response.getheaders()}
        answer = response.status, headers, response.read()
        connection.close()
        return answer


@contextlib.contextmanager
def caddy_in_front(tmp_path: Path, upstream_port: int) -> Iterator[Caddy]:
    """deploy/Caddyfile.lan served by Caddy on free ports of 127.0.0.1; its CA in tmp_path."""
    caddy = require("caddy", "caddy")
    ports = Caddy(free_port(), free_port(), ca_dir(tmp_path) / "root.crt")
    config = tmp_path / "Caddyfile"
    config.write_text(lan_caddyfile(tmp_path, ports.https_port, ports.http_port, upstream_port))
    env = {
        **os.environ,
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "caddy-config"),
        "XDG_DATA_HOME": str(tmp_path / "caddy-xdg"),
    }
    log_path = tmp_path / "caddy.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [caddy, "run", "--config", str(config), "--adapter", "caddyfile"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_until(
            lambda: (
                process.poll() is None
                and ports.root.exists()
                and verified_handshake(ports.https_port, ports.root)
            ),
            30,
            f"caddy did not serve TLS on {ports.https_port}; see {log_path}",
        )
        yield ports
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


def trusted_home(tmp_path: Path, root: Path) -> Path:
    """A HOME whose NSS database (Chromium's store on Linux) trusts the CA to issue web sites."""
    certutil = require("certutil", "libnss3-tools")
    home = tmp_path / "tablet-home"
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    for command in (
        [certutil, "-d", f"sql:{nssdb}", "-N", "--empty-password"],
        [
            certutil,
            "-d",
            f"sql:{nssdb}",
            "-A",
            "-t",
            "C,,",
            "-n",
            "Caddy Local CA",
            "-i",
            str(root),
        ],
    ):
        subprocess.run(command, check=True, capture_output=True, timeout=30)
    return home


def refused_without_the_root(playwright, base_url: str, home: Path, resolver: str) -> str:
    """What a browser whose store lacks Caddy's root says: the control for the trusted run."""
    from playwright.sync_api import Error

    home.mkdir()
    browser = playwright.chromium.launch(
        executable_path=require_chromium(),
        args=[*CHROMIUM_FLAGS, resolver],
        env={**os.environ, "HOME": str(home)},
    )
    try:
        browser.new_page().goto(base_url)
    except Error as error:
        return str(error)
    finally:
        browser.close()
    return "loaded"


def test_gate_app_over_caddy_https_works_offline_and_stores_each_record_once(
    site, playwright, tmp_path: Path
) -> None:
    workers = site.world.workers[:5]
    with caddy_in_front(tmp_path, site.server.port) as caddy:
        # What a tablet downloads over the LAN before trusting it (CERTIFICATES.md, step 1).
        status, _headers, downloaded = caddy.get("/gatelog-root.crt", secure=False)
        assert status == 200
        assert downloaded == caddy.root.read_bytes()
        (tmp_path / "gatelog-root.crt").write_bytes(downloaded)
        status, headers, _body = caddy.get("/healthz")
        assert status == 200
        # Caddy's request id reached the app, which echoes it.
        assert len(headers["x-request-id"]) == 36
        assert caddy.get("/metrics")[0] == 404

        base_url = f"https://{HOST}:{caddy.https_port}"
        resolver = f"--host-resolver-rules=MAP {HOST} 127.0.0.1"
        refusal = refused_without_the_root(playwright, base_url, tmp_path / "plain-home", resolver)
        assert "ERR_CERT_AUTHORITY_INVALID" in refusal
        home = trusted_home(tmp_path, tmp_path / "gatelog-root.crt")
        tablet = Tablet(
            playwright,
            tmp_path / "tablet",
            base_url,
            extra_args=(resolver,),
            env={**os.environ, "HOME": str(home)},
        )
        try:
            tablet.open()
            assert tablet.page.evaluate("window.isSecureContext") is True
            assert tablet.page.evaluate("location.protocol") == "https:"
            tablet.wait_for_service_worker()
            gate = site.world.gates[0]
            tablet.enrol(enrolment_code(site.app, gate["id"]), gate_name=gate["name"])
            tablet.wait_for_roster(len(site.world.workers))
            tablet.wait_waiting(0, 15)

            site.server.kill()
            tablet.reload()
            for worker in workers:
                tablet.scan(f"GL1:W:{worker['badge']}")
            tablet.wait_waiting(len(workers), 10)

            site.server.start()
            tablet.wait_waiting(0, DRAIN_TIMEOUT)
            tablet.screenshot("https-caddy-drained")
        finally:
            tablet.close()

    events = stored_events(site.app)
    assert sorted(e["worker_id"] for e in events) == sorted(w["id"] for w in workers)
    assert len({e["id"] for e in events}) == len(workers)
    assert [e["seq"] for e in events] == list(range(1, len(workers) + 1))
