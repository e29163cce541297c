"""Simulated gate tablets: enrol, capture, go offline, suffer a bad network, and drain.

    python -m sync.simulate --url http://127.0.0.1:8000 --devices 3 --events 1000 \\
        --codes-file codes.txt --offline-periods 2 --fault-rate 0.1 --seed 7

Each tablet enrols with one code (`flask enroll-code` prints one per call; give them with
--code, repeated, or --codes-file, one per line) or adopts a token (--tokens-file, lines of
"device_id token gate_id"). The run prints one JSON line per tablet and a summary, and exits 1
when any tablet still has events queued or the server reports seq ranges it never received.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sync.client import (
    DrainIncomplete,
    HttpTransport,
    Response,
    SyncClient,
    SyncError,
    Transport,
    TransportError,
)

FAULTS = (
    "refused",
    "lost_answer",
    "duplicate",
    "delayed",
    "server_error",
    "unavailable",
    "too_large",
)
"""What a bad network or a struggling server does to one request.

refused: never reaches the server; lost_answer: applied, the answer never comes back;
duplicate: delivered twice; delayed: held back and delivered later, after newer requests;
server_error / unavailable / too_large: a 500, a 503 with Retry-After, a 413, nothing applied.
"""


def _fake_error(status: int, code: str, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps({"error": {"code": code, "message": code, "message_vi": code}}).encode()
    return Response(status, dict(headers or {}), body)


class FaultyTransport:
    """Wraps a transport and injects network faults into sync calls (never into enrolment)."""

    def __init__(self, inner: Transport, choose: Callable[[], str | None]) -> None:
        self.inner = inner
        self.choose = choose
        self.offline = False
        self.delayed: list[tuple[str, str, Mapping[str, str], bytes | None]] = []
        self.injected: dict[str, int] = {}

    def send(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        if "/sync/" not in path:
            return self.inner.send(method, path, headers, body)
        if self.offline:
            raise TransportError("offline")
        fault = self.choose()
        if fault is not None:
            self.injected[fault] = self.injected.get(fault, 0) + 1
        if fault == "refused":
            raise TransportError("connection refused")
        if fault == "server_error":
            return _fake_error(500, "internal_error")
        if fault == "unavailable":
            return _fake_error(503, "unavailable", {"retry-after": "0"})
        if fault == "too_large":
            return _fake_error(413, "payload_too_large")
        if fault == "delayed":
            self.delayed.append((method, path, headers, body))
            raise TransportError("timed out")
        # Requests held back earlier arrive now, newest first, ahead of this one.
        self.release_delayed()
        answer = self.inner.send(method, path, headers, body)
        if fault == "duplicate":
            answer = self.inner.send(method, path, headers, body)
        if fault == "lost_answer":
            raise TransportError("timed out")
        return answer

    def release_delayed(self) -> None:
        """Deliver every held-back request, newest first; their answers go nowhere."""
        while self.delayed:
            method, path, headers, body = self.delayed.pop()
            try:
                self.inner.send(method, path, headers, body)
            except TransportError:
                continue


def random_faults(rng: random.Random, rate: float) -> Callable[[], str | None]:
    def choose() -> str | None:
        return rng.choice(FAULTS) if rng.random() < rate else None

    return choose


@dataclass(frozen=True)
class Credentials:
    code: str | None = None
    device_id: int | None = None
    token: str | None = None
    gate_id: int | None = None


@dataclass
class TabletReport:
    label: str
    device_id: int | None = None
    captured: int = 0
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    pushes: int = 0
    failed_pushes: int = 0
    backlog: int = 0
    highest_seq: int | None = None
    missing_ranges: list[list[int]] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    error: str | None = None


def offline_windows(rng: random.Random, events: int, periods: int) -> list[range]:
    """`periods` disjoint stretches of capture indexes during which the tablet has no link."""
    if periods <= 0 or events < 2:
        return []
    cuts = sorted(rng.sample(range(events), min(events, 2 * periods)))
    return [range(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]


class Tablet:
    """One simulated gate tablet with its own outbox file and network."""

    def __init__(
        self,
        label: str,
        outbox: Path,
        transport: Transport,
        rng: random.Random,
        *,
        fault_rate: float = 0.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.label = label
        self.rng = rng
        self.network = FaultyTransport(transport, random_faults(rng, fault_rate))
        self.client = SyncClient(outbox, self.network, rng=rng, sleep=sleep)
        self.gates: list[int] = []
        self.badges: list[str] = []

    def sign_in(self, credentials: Credentials) -> None:
        if credentials.code is not None:
            self.client.enroll(credentials.code, self.label)
        elif credentials.device_id is not None and credentials.token is not None:
            gate = {"id": credentials.gate_id}
            self.client.use_token(
                credentials.device_id, credentials.token, {"gate": gate, "gates": [gate]}
            )
        enrolment = self.client.enrolment or {}
        self.gates = [gate["id"] for gate in enrolment.get("gates", []) if gate.get("id")]
        if not self.gates:
            raise SyncError(0, "no_gate", "the tablet knows no gate to record at")

    def learn_roster(self) -> None:
        self.client.pull_roster()
        self.badges = [p["badge_token"] for p in self.client.roster_people() if p["badge_token"]]

    def capture_one(self, index: int) -> None:
        if self.badges and self.rng.random() < 0.9:
            kind, value, method = (
                "badge",
                self.rng.choice(self.badges),
                self.rng.choice(("camera", "scanner")),
            )
        else:
            kind, value, method = "text", f"Khách {self.rng.randrange(10_000):04d}", "manual"
        self.client.capture(
            gate_id=self.rng.choice(self.gates),
            direction="in" if index % 2 == 0 else "out",
            subject_kind=kind,
            subject_value=value,
            method=method,
        )

    def prefill(self, events: int) -> None:
        """Queue `events` captures without pushing, like a tablet that was offline all shift."""
        for index in range(events):
            self.capture_one(index)

    def run(self, events: int, *, offline_periods: int = 0, push_every: int = 50) -> TabletReport:
        """Capture `events`, pushing every `push_every` while online, then drain."""
        report = TabletReport(self.label, self.client.device_id)
        started = time.perf_counter()
        windows = offline_windows(self.rng, events, offline_periods)
        try:
            for index in range(events):
                self.network.offline = any(index in window for window in windows)
                self.capture_one(index)
                report.captured += 1
                if (index + 1) % push_every == 0 and not self.network.offline:
                    self._record(report, self.client.push_once())
            self.network.offline = False
            self.drain_into(report)
        except (SyncError, DrainIncomplete) as exc:
            report.error = str(exc)
        report.seconds = time.perf_counter() - started
        return self.finish(report)

    def drain_into(self, report: TabletReport) -> None:
        drained = self.client.drain()
        self.network.release_delayed()
        # A heartbeat after the delayed requests landed reads the server's final view of the seqs.
        self.client.heartbeat()
        report.pushes += drained.pushes
        report.failed_pushes += drained.failures
        report.accepted += drained.accepted
        report.duplicate += drained.duplicate
        report.rejected += drained.rejected
        report.latencies.extend(drained.latencies)

    def _record(self, report: TabletReport, result: Any) -> None:
        report.pushes += 1
        if result.ok:
            report.accepted += result.accepted
            report.duplicate += result.duplicate
            report.rejected += result.rejected
            report.latencies.append(result.latency)
        else:
            report.failed_pushes += 1

    def finish(self, report: TabletReport) -> TabletReport:
        answer = self.client.last_answer or {}
        report.device_id = self.client.device_id
        report.backlog = self.client.backlog()
        report.highest_seq = answer.get("highest_seq")
        report.missing_ranges = answer.get("missing_ranges", [])
        report.faults = dict(self.network.injected)
        return report


def _credentials(args: argparse.Namespace) -> list[Credentials]:
    codes = list(args.code or [])
    if args.codes_file:
        codes += [
            line.strip() for line in Path(args.codes_file).read_text().splitlines() if line.strip()
        ]
    found = [Credentials(code=code) for code in codes]
    if args.tokens_file:
        for line in Path(args.tokens_file).read_text().splitlines():
            if line.strip():
                device_id, token, gate_id = line.split()
                found.append(
                    Credentials(device_id=int(device_id), token=token, gate_id=int(gate_id))
                )
    return found


def simulate(
    url: str,
    credentials: Sequence[Credentials],
    *,
    events: int,
    workdir: Path,
    offline_periods: int = 0,
    fault_rate: float = 0.0,
    seed: int = 0,
    push_every: int = 50,
) -> list[TabletReport]:
    """Run one thread per tablet against `url`; return their reports."""
    reports: list[TabletReport] = []
    lock = threading.Lock()

    def one(index: int, creds: Credentials) -> None:
        label = f"Máy mô phỏng {index + 1}"
        rng = random.Random(f"{seed}-{index}")  # noqa: S311 - reproducible simulated traffic
        tablet = Tablet(
            label,
            workdir / f"tablet-{index + 1}.sqlite",
            HttpTransport(url),
            rng,
            fault_rate=fault_rate,
        )
        try:
            tablet.sign_in(creds)
            tablet.learn_roster()
            report = tablet.run(events, offline_periods=offline_periods, push_every=push_every)
        except (SyncError, TransportError) as exc:
            report = TabletReport(label, error=str(exc))
        finally:
            tablet.client.close()
        with lock:
            reports.append(report)

    threads = [threading.Thread(target=one, args=(i, c)) for i, c in enumerate(credentials)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(reports, key=lambda r: r.label)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sync.simulate", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--url", required=True, help="server base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--devices", type=int, required=True, help="how many tablets to simulate")
    parser.add_argument("--events", type=int, required=True, help="events each tablet captures")
    parser.add_argument(
        "--code", action="append", help="an enrolment code (repeat for each tablet)"
    )
    parser.add_argument("--codes-file", help="file of enrolment codes, one per line")
    parser.add_argument("--tokens-file", help='file of "device_id token gate_id" lines')
    parser.add_argument(
        "--offline-periods", type=int, default=0, help="offline stretches per tablet"
    )
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="share of sync requests given a fault"
    )
    parser.add_argument(
        "--push-every", type=int, default=50, help="captures between pushes while online"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", help="where the outbox files go (default: a temporary folder)")
    args = parser.parse_args(argv)

    credentials = _credentials(args)
    if len(credentials) < args.devices:
        parser.error(
            f"{args.devices} tablets need {args.devices} codes or tokens, got {len(credentials)}"
        )
    with tempfile.TemporaryDirectory(prefix="gatelog-sim-") as scratch:
        workdir = Path(args.workdir or scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        reports = simulate(
            args.url,
            credentials[: args.devices],
            events=args.events,
            workdir=workdir,
            offline_periods=args.offline_periods,
            fault_rate=args.fault_rate,
            seed=args.seed,
            push_every=args.push_every,
        )
        elapsed = time.perf_counter() - started
    for report in reports:
        line = asdict(report)
        line.pop("latencies")
        print(json.dumps(line, ensure_ascii=False))
    captured = sum(r.captured for r in reports)
    healthy = all(not r.error and not r.backlog and not r.missing_ranges for r in reports)
    print(
        json.dumps(
            {
                "tablets": len(reports),
                "captured": captured,
                "accepted": sum(r.accepted for r in reports),
                "duplicate": sum(r.duplicate for r in reports),
                "rejected": sum(r.rejected for r in reports),
                "seconds": round(elapsed, 2),
                "events_per_second": round(captured / elapsed, 1) if elapsed else None,
                "healthy": healthy,
            }
        )
    )
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(main())
