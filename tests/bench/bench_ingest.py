"""Ingest benchmark: Gate log's push beside a plain endpoint and the database's raw ceiling.

On SQLite and on PostgreSQL (fresh databases built by the migrations), each round:

  1. Gate log: CLIENTS tablets push 500-event batches of badge scans to gunicorn
     (-w 2 --threads 4, the per-device push limit lifted) on 127.0.0.1;
  2. raw ceiling: the very rows Gate log stored, read back, deleted, and inserted again into the
     same table by the driver's executemany, 500 rows per transaction;
  3. plain endpoint: the same load (fresh event ids) against tests/bench/plain_endpoint.py, a
     minimal Flask + marshmallow + SQLAlchemy Core endpoint (validate, then INSERT … ON CONFLICT
     DO NOTHING RETURNING) served by the same gunicorn.

The load comes from tests/bench/load.py: forked processes sending pre-built bodies over
keep-alive connections, so the client costs the server almost nothing. Throughput counts only
the rows found stored afterwards; a client that dies or gets an answer other than 200 fails the
run. The medians of the rounds make the table; then, on Gate log alone, one tablet drains a
10,000-event backlog and one tablet sends one event per request.

The machine may be shared: compare Gate log only with the plain endpoint and the raw ceiling
printed by the same run. It prints figures and asserts nothing.
Targets: Gate log / plain >= 1.0, Gate log / raw >= 0.6, drain < 3 s.
    .venv/bin/python tests/bench/bench_ingest.py [--events 100000] [--rounds 3]
        [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script (`make bench`), so the repository root is not on the path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg
from flask import Flask
from psycopg.types.json import Json
from sqlalchemy import JSON, delete, func, select, text

from server import create_app
from server.extensions import db
from server.models import GateEvent, QuarantinedEvent, SyncBatch
from sync.client import MAX_BATCH
from tests.bench.common import drop_database, fresh_database, migrated_app
from tests.bench.load import LoadResult, Request, run_load
from tests.bench.plain_endpoint import PATH as PLAIN_PATH
from tests.factories import make_device, make_enterprise, make_gate, make_worker, make_zone
from tests.sync.test_process import Gunicorn, free_port

CLIENTS = 8
WORKERS = 2000
DRAIN_EVENTS = 10_000
ONE_BY_ONE_EVENTS = 1000
PUSH_PATH = "/api/v1/sync/push"


def unthrottled_app() -> Flask:
    """The app as gunicorn serves it, with the per-device push limit lifted (the limiter runs)."""
    app = create_app()
    app.config["API_PUSH_RATE_LIMIT"] = "1000000 per minute"
    return app


@dataclass
class World:
    gate_ids: list[int]
    badges: list[str]
    tokens: list[str]

    def take_tokens(self, count: int) -> list[str]:
        taken, self.tokens = self.tokens[:count], self.tokens[count:]
        return taken


def seed(app: Flask, devices: int) -> World:
    """An enterprise with two gates, its workers, and enough enrolled tablets for every load."""
    with app.app_context():
        enterprise = make_enterprise(zone_id=make_zone().id)
        gates = [make_gate(enterprise), make_gate(enterprise)]
        badges = [make_worker(enterprise).badge_token for _ in range(WORKERS)]
        tokens = [make_device(gates[n % 2])[1] for n in range(devices)]
        db.session.commit()
        return World([gate.id for gate in gates], badges, tokens)


def bodies(world: World, token: str, events: int, batch: int, rng: random.Random) -> list[Request]:
    """One tablet's backlog of badge scans as encoded push bodies, in seq order."""
    now = datetime.now(UTC)
    start = now - timedelta(hours=8)
    requests = []
    for first in range(1, events + 1, batch):
        last = min(first + batch, events + 1)
        scans = [
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "seq": seq,
                "occurred_at": (start + timedelta(seconds=seq)).isoformat(),
                "gate_id": rng.choice(world.gate_ids),
                "direction": rng.choice(("in", "out")),
                "subject": {"kind": "badge", "value": rng.choice(world.badges)},
                "method": rng.choice(("camera", "scanner")),
            }
            for seq in range(first, last)
        ]
        requests.append(push(token, scans, events + 1 - last, now, rng))
    return requests


def push(
    token: str, events: list[dict[str, Any]], backlog: int, now: datetime, rng: random.Random
) -> Request:
    envelope = {
        "batch_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "sent_at": now.isoformat(),
        "app_version": "bench",
        "backlog": backlog,
        "oldest_pending_at": None,
        "events": events,
    }
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return Request(PUSH_PATH, json.dumps(envelope, separators=(",", ":")).encode(), headers)


def fleet(world: World, events: int, rng: random.Random, path: str) -> list[list[Request]]:
    per_client = events // CLIENTS
    return [
        [
            Request(path, request.body, request.headers)
            for request in bodies(world, token, per_client, MAX_BATCH, rng)
        ]
        for token in world.take_tokens(CLIENTS)
    ]


def stored_events(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(GateEvent)) or 0


def empty_tables(app: Flask) -> None:
    with app.app_context():
        with db.engine.begin() as connection:
            for model in (GateEvent, QuarantinedEvent, SyncBatch):
                connection.execute(delete(model))
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE gate_event, sync_batch"))


def raw_ceiling(app: Flask) -> float:
    """Read back the rows Gate log stored, delete them, and time their executemany alone."""
    with app.app_context():
        table = GateEvent.__table__
        columns = [column.name for column in table.columns]
        json_columns = {column.name for column in table.columns if isinstance(column.type, JSON)}
        postgres = db.engine.dialect.name == "postgresql"
        marker = "%s" if postgres else "?"
        listed = ", ".join(columns)
        markers = ", ".join([marker] * len(columns))
        insert_sql = f"INSERT INTO gate_event ({listed}) VALUES ({markers})"  # noqa: S608 - our columns
        connection = db.engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute(f"SELECT {listed} FROM gate_event")  # noqa: S608 - our own column names
            rows = cursor.fetchall()
            if postgres:
                wrap = [name in json_columns for name in columns]
                rows = [
                    tuple(
                        Json(v) if w and v is not None else v
                        for v, w in zip(row, wrap, strict=True)
                    )
                    for row in rows
                ]
            cursor.execute("DELETE FROM gate_event")
            connection.commit()
            started = time.perf_counter()
            for first in range(0, len(rows), MAX_BATCH):
                cursor.executemany(insert_sql, rows[first : first + MAX_BATCH])
                connection.commit()
            seconds = time.perf_counter() - started
        finally:
            connection.close()
    stored = stored_events(app)
    if stored != len(rows):
        raise RuntimeError(f"raw ceiling stored {stored} of {len(rows)} rows")
    return stored / seconds


def warm_up(servers: dict[str, Gunicorn], world: World) -> None:
    """Heartbeats to every worker first, so no round pays for a worker's first request."""
    tokens = world.take_tokens(4)
    rng = random.Random(4)
    now = datetime.now(UTC)
    for name, path in (("gatelog", PUSH_PATH), ("plain", PLAIN_PATH)):
        heartbeats = [
            [Request(path, r.body, r.headers) for r in [push(token, [], 0, now, rng)] * 4]
            for token in tokens
        ]
        run_load(servers[name].port, heartbeats)


@dataclass
class Round:
    gatelog: float
    raw: float
    plain: float


def measured(
    app: Flask, port: int, load: list[list[Request]], label: str
) -> tuple[float, LoadResult]:
    expected = sum(len(json.loads(r.body)["events"]) for requests in load for r in requests)
    result = run_load(port, load)
    stored = stored_events(app)
    if stored != expected:
        raise RuntimeError(f"{label}: {stored} events stored of {expected} sent")
    return stored / result.seconds, result


def bench(backend: str, events: int, rounds: int) -> list[str]:
    with tempfile.TemporaryDirectory() as scratch:
        url = fresh_database(backend, "ingest", Path(scratch))
        app = migrated_app(url)
        world = seed(app, devices=CLIENTS * 2 * rounds + 6)
        rng = random.Random(16)
        loads = [
            (fleet(world, events, rng, PUSH_PATH), fleet(world, events, rng, PLAIN_PATH))
            for _ in range(rounds)
        ]
        log = Path(scratch) / "gunicorn.log"
        servers = {
            name: Gunicorn(url, free_port(), log, workers=2, threads=4, app=target)
            for name, target in (
                ("gatelog", "tests.bench.bench_ingest:unthrottled_app()"),
                ("plain", "tests.bench.plain_endpoint:create_plain_app()"),
            )
        }
        try:
            for server in servers.values():
                server.start()
            warm_up(servers, world)
            results = []
            latencies = []
            for number, (gatelog_load, plain_load) in enumerate(loads, start=1):
                gatelog, gatelog_result = measured(
                    app, servers["gatelog"].port, gatelog_load, "Gate log"
                )
                raw = raw_ceiling(app)
                empty_tables(app)
                plain, _ = measured(app, servers["plain"].port, plain_load, "plain endpoint")
                empty_tables(app)
                results.append(Round(gatelog, raw, plain))
                latencies.append(gatelog_result)
                print(
                    f"  {backend} round {number}: Gate log {gatelog:,.0f} ev/s "
                    f"(batch p50 {gatelog_result.latency_ms(0.5):.0f} ms, "
                    f"p95 {gatelog_result.latency_ms(0.95):.0f} ms, "
                    f"{gatelog_result.retries} busy retries), raw {raw:,.0f}, plain {plain:,.0f}",
                    flush=True,
                )
            lines = [_row(backend, results)]
            lines += _lone_tablets(app, servers["gatelog"].port, world, backend)
        finally:
            for server in servers.values():
                server.stop()
            with app.app_context():
                db.engine.dispose()
            drop_database(url)
    return lines


def _row(backend: str, results: list[Round]) -> str:
    def median(pick: Callable[[Round], float]) -> float:
        return statistics.median(pick(r) for r in results)

    gatelog, raw, plain = (
        median(lambda r: r.gatelog),
        median(lambda r: r.raw),
        median(lambda r: r.plain),
    )
    name = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}[backend]
    return (
        f"| {name} | {gatelog:,.0f} ev/s | {raw:,.0f} | {plain:,.0f} | "
        f"{gatelog / raw:.2f} | {gatelog / plain:.2f} |"
    )


def _lone_tablets(app: Flask, port: int, world: World, backend: str) -> list[str]:
    rng = random.Random(61)
    drain_token, single_token = world.take_tokens(2)
    drain = run_load(port, [bodies(world, drain_token, DRAIN_EVENTS, MAX_BATCH, rng)])
    single = run_load(port, [bodies(world, single_token, ONE_BY_ONE_EVENTS, 1, rng)])
    batched = stored_events(app)
    empty_tables(app)
    if batched != DRAIN_EVENTS + ONE_BY_ONE_EVENTS:
        raise RuntimeError(f"lone tablets: {batched} events stored")
    one_by_one = ONE_BY_ONE_EVENTS / single.seconds
    return [
        f"  {backend}: one tablet drains {DRAIN_EVENTS:,} events in {drain.seconds:.2f} s "
        f"(target < 3 s); one event per request {one_by_one:,.0f} ev/s, "
        f"{DRAIN_EVENTS / drain.seconds / one_by_one:.0f}x slower than batches"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    print(
        f"{args.events:,} events a load, {CLIENTS} connections, {MAX_BATCH}-event batches, "
        f"gunicorn -w 2 --threads 4, medians of {args.rounds} rounds"
    )
    rows, notes = [], []
    for backend in args.backends.split(","):
        try:
            row, *more = bench(backend, args.events, args.rounds)
        except psycopg.OperationalError as error:
            notes.append(f"  {backend}: skipped, PostgreSQL is not reachable ({error})")
            continue
        rows.append(row)
        notes += more
    print(
        "| DB | Gate log | raw, same rows and table | plain endpoint "
        "| Gate log / raw | Gate log / plain |"
    )
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\n".join(notes))
    print("Targets: Gate log / plain >= 1.0, Gate log / raw >= 0.6.")


if __name__ == "__main__":
    main()
