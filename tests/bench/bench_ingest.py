"""Ingest benchmark: how close the push path comes to the database's own insert ceiling.

On SQLite and on PostgreSQL, with the same 100,000 events (captured by reference clients into
their outboxes before the clock starts):

  a. raw ceiling: the rows inserted straight into gate_event with executemany, 500 per transaction;
  b. end to end: 8 reference clients pushing 500-event batches to gunicorn on 127.0.0.1;
  c. naive replay: one event per request, as a replay queue without batching does (fewer
     events, rate extrapolated);
  plus one tablet draining a 10,000-event backlog alone.

gunicorn runs 2 workers x 4 threads with the per-device push limit lifted (the limiter still
runs). Client outboxes live in /dev/shm: real tablets each have their own storage, this machine
has one disk. The 8 clients are threads of this process and share its cores with gunicorn.
a binds the values through the column types before the clock starts and times only the
driver's executemany (ON CONFLICT-free, same table and indexes).

It prints figures and asserts nothing. Targets: b/a >= 0.4, b/c >= 20, drain < 3 s.
    .venv/bin/python tests/bench/bench_ingest.py [--events 100000] [--backends sqlite,postgresql]
        [--profile]     # also profile in-process pushes and print the costliest functions
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import io
import json
import pstats
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

# Run as a script (`make bench`), so the repository root is not on the path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg
from flask import Flask
from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects import sqlite

from server import create_app
from server.devices import issue_enrolment_code
from server.extensions import db
from server.models import Gate, GateEvent, Worker, utcnow
from server.settings import Settings
from sync.client import MAX_BATCH, HttpTransport
from sync.simulate import Credentials, Tablet
from tests.factories import make_enterprise, make_gate, make_worker, make_zone
from tests.sync.test_client_app import FlaskTransport
from tests.sync.test_process import Gunicorn, free_port

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 8
NAIVE_EVENTS = 2000
DRAIN_EVENTS = 10_000
WORKERS = 2000
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgresql+psycopg://postgres@127.0.0.1:5432/gatelog_bench"


def fresh_database(backend: str, scratch: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{scratch / 'bench.sqlite3'}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute("DROP DATABASE IF EXISTS gatelog_bench WITH (FORCE)")
        admin.execute("CREATE DATABASE gatelog_bench")
    return PG_BENCH


def unthrottled_app() -> Flask:
    """The app as gunicorn serves it, with the per-device push limit lifted.

    The limiter still runs on every request; only its ceiling of 600 pushes a minute per device
    is raised, so that c (one event per request) measures the mechanics, not the limit.
    """
    app = create_app()
    app.config["API_PUSH_RATE_LIMIT"] = "1000000 per minute"
    return app


def build_app(url: str) -> Flask:
    app = create_app(Settings(database_url=url, secret_key=secrets.token_urlsafe(32)))
    with app.app_context():
        db.create_all()
    return app


def seed(app: Flask, tablets: int) -> list[str]:
    """An enterprise with two gates and its workers; one enrolment code per tablet."""
    with app.app_context():
        enterprise = make_enterprise(zone_id=make_zone().id)
        gate = make_gate(enterprise)
        make_gate(enterprise)
        for _ in range(WORKERS):
            make_worker(enterprise)
        return [issue_enrolment_code(gate, actor=None, now=utcnow()).code for _ in range(tablets)]


def make_tablet(url: str, code: str, outboxes: Path, name: str, events: int, seed_: int) -> Tablet:
    rng = random.Random(seed_)
    tablet = Tablet(name, outboxes / f"{name}.sqlite", HttpTransport(url), rng)
    tablet.sign_in(Credentials(code=code))
    tablet.learn_roster()
    tablet.prefill(events)
    return tablet


def outbox_events(tablet: Tablet) -> list[tuple[int, dict[str, Any]]]:
    return [(tablet.client.device_id, event) for event in tablet.client.pending_events()]


def raw_rows(app: Flask, events: list[tuple[int, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The gate_event rows the server would write, worked out before the clock starts."""
    with app.app_context():
        gates = dict(db.session.execute(select(Gate.id, Gate.enterprise_id)).all())
        badges = dict(db.session.execute(select(Worker.badge_token, Worker.id)).all())
    now = utcnow()
    rows = []
    for device_id, event in events:
        occurred = datetime.fromisoformat(event["occurred_at"])
        worker = badges.get(event["subject"]["value"])
        rows.append(
            {
                "id": uuid.UUID(event["id"]),
                "enterprise_id": gates[event["gate_id"]],
                "gate_id": event["gate_id"],
                "device_id": device_id,
                "seq": event["seq"],
                "seq_epoch": 1,
                "direction": event["direction"],
                "method": event["method"],
                "subject_type": event["subject"]["kind"],
                "subject_value": event["subject"]["value"],
                "subject_kind": "worker" if worker else "unresolved",
                "worker_id": worker,
                "occurred_at": occurred,
                "occurred_offset_minutes": int(occurred.utcoffset().total_seconds() // 60),
                "corrected_at": occurred,
                "received_at": now,
                "content_hash": hashlib.sha256(json.dumps(event).encode()).hexdigest(),
                "flags": [],
            }
        )
    return rows


def raw_ceiling(app: Flask, rows: list[dict[str, Any]]) -> float:
    """Rows bound by the column types beforehand, then only the driver's executemany is timed."""
    with app.app_context():
        table = GateEvent.__table__
        dialect = db.engine.dialect
        named = sqlite.dialect(paramstyle="named") if dialect.name == "sqlite" else dialect
        sql = str(insert(table).compile(dialect=named, column_keys=list(rows[0])))
        bind = {
            key: table.c[key].type.dialect_impl(dialect).bind_processor(dialect) or (lambda v: v)
            for key in rows[0]
        }
        bound = [{key: bind[key](value) for key, value in row.items()} for row in rows]
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            started = time.perf_counter()
            for start in range(0, len(bound), MAX_BATCH):
                cursor.executemany(sql, bound[start : start + MAX_BATCH])
                connection.commit()
            elapsed = time.perf_counter() - started
        finally:
            connection.close()
        stored = db.session.scalar(select(func.count()).select_from(GateEvent))
        with db.engine.begin() as transaction:
            transaction.execute(delete(GateEvent))
    print(f"  a. raw executemany     {len(rows) / elapsed:>9.0f} events/s  ({stored} rows)")
    return len(rows) / elapsed


def drain_together(tablets: list[Tablet]) -> tuple[float, list[float], dict[str, int]]:
    reports: list[Any] = []

    def drain(tablet: Tablet) -> None:
        reports.append(tablet.client.drain())

    threads = [threading.Thread(target=drain, args=(tablet,)) for tablet in tablets]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    latencies = [latency for report in reports for latency in report.latencies]
    failed: dict[str, int] = {}
    for report in reports:
        for cause, count in report.failed.items():
            failed[cause] = failed.get(cause, 0) + count
    return elapsed, latencies, failed


def percentile(values: list[float], share: float) -> float:
    return (
        statistics.quantiles(values, n=100)[int(share * 100) - 1] if len(values) > 1 else values[0]
    )


def worker_peak_rss_mib(server: Gunicorn) -> float:
    """The largest peak resident size (VmHWM) among gunicorn's workers."""
    assert server.process is not None
    children = Path(f"/proc/{server.process.pid}/task/{server.process.pid}/children")
    peaks = []
    for pid in children.read_text().split():
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) / 1024)
    return max(peaks, default=0.0)


def profile_pushes(app: Flask, code: str) -> None:
    """Push 20 full batches in-process under cProfile; print where the time goes."""
    with tempfile.TemporaryDirectory(dir="/dev/shm") as scratch:
        http = FlaskTransport(app.test_client())
        tablet = Tablet("profile", Path(scratch) / "p.sqlite", http, random.Random(7))
        tablet.sign_in(Credentials(code=code))
        tablet.learn_roster()
        tablet.prefill(20 * MAX_BATCH)
        profiler = cProfile.Profile()
        profiler.enable()
        tablet.client.drain()
        profiler.disable()
        tablet.client.close()
    for order, only in (("tottime", ""), ("cumulative", "sync/|server/")):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(only, 25)
        lines = [line for line in out.getvalue().splitlines() if line.strip()]
        start = next(i for i, line in enumerate(lines) if "ncalls" in line)
        print(f"  profile of 20 in-process 500-event pushes, by {order}:")
        for line in lines[start : start + 26]:
            print("    " + line.replace(str(ROOT) + "/", "")[:150])


def bench(backend: str, events: int, profile: bool) -> None:
    print(f"== {backend}: {events} events, {CLIENTS} clients")
    with (
        tempfile.TemporaryDirectory() as scratch,
        tempfile.TemporaryDirectory(dir="/dev/shm") as shm,
    ):
        url = fresh_database(backend, Path(scratch))
        app = build_app(url)
        codes = seed(app, CLIENTS + 3)
        server = Gunicorn(
            url,
            free_port(),
            Path(scratch) / "gunicorn.log",
            workers=2,
            threads=4,
            app="tests.bench.bench_ingest:unthrottled_app()",
        )
        server.start()
        try:
            base = f"http://127.0.0.1:{server.port}"
            # Outboxes live in RAM: each tablet has its own storage, the bench machine has one disk.
            fleet = [
                make_tablet(base, codes[i], Path(shm), f"tablet-{i}", events // CLIENTS, i)
                for i in range(CLIENTS)
            ]
            same_events = [pair for tablet in fleet for pair in outbox_events(tablet)]
            ceiling = raw_ceiling(app, raw_rows(app, same_events))

            elapsed, latencies, failures = drain_together(fleet)
            with app.app_context():
                stored = db.session.scalar(select(func.count()).select_from(GateEvent))
            end_to_end = len(same_events) / elapsed
            print(
                f"  b. {CLIENTS} clients x 500/batch {end_to_end:>9.0f} events/s  "
                f"({stored} stored, {len(latencies)} batches, failed pushes: {failures or 'none'})"
            )
            print(
                f"     batch latency p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
                f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms"
            )

            naive = make_tablet(base, codes[CLIENTS], Path(shm), "naive", NAIVE_EVENTS, 100)
            naive.client.batch_size = 1
            started = time.perf_counter()
            while naive.client.backlog():
                naive.client.push_once()
            one_by_one = NAIVE_EVENTS / (time.perf_counter() - started)
            print(
                f"  c. one event/request   {one_by_one:>9.0f} events/s  ({NAIVE_EVENTS} events; "
                f"{events} would take {events / one_by_one:.0f} s)"
            )

            lone = make_tablet(base, codes[CLIENTS + 1], Path(shm), "lone", DRAIN_EVENTS, 200)
            started = time.perf_counter()
            lone.client.drain()
            drain_seconds = time.perf_counter() - started
            print(
                f"  drain of one tablet's {DRAIN_EVENTS}-event backlog: {drain_seconds:.2f} s "
                "(target < 3 s)"
            )
            print(f"  gunicorn worker peak RSS: {worker_peak_rss_mib(server):.0f} MiB")
            print(
                f"  b/a = {end_to_end / ceiling:.2f} (target >= 0.4)   "
                f"b/c = {end_to_end / one_by_one:.1f} (target >= 20)"
            )
            for tablet in (*fleet, naive, lone):
                tablet.client.close()
        finally:
            server.stop()
        if profile:
            profile_pushes(app, codes[CLIENTS + 2])
        with app.app_context():
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    for backend in args.backends.split(","):
        try:
            bench(backend, args.events, args.profile)
        except psycopg.OperationalError as error:
            print(f"== {backend}: skipped, PostgreSQL is not reachable ({error})")


if __name__ == "__main__":
    main()
