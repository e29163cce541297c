"""Board console benchmark: sync health over 200 tablets and 1,000,000 events, the province
report and a contact-tracing query.

Seeds 5 zones, 50 enterprises (5 outside any zone), 100 gates with 2 tablets each, 20,000
workers with home provinces (old and new names) and 1,000,000 events over 30 days, with gaps in
a few tablets' numbering and a week of sync batches (bulk inserts; a database already seeded is
reused), then prints p50/p95 server time on SQLite and PostgreSQL for:

  - the sync-health page (every tablet, gate, enterprise and zone, as an inspector of all zones);
  - the workers-by-province report;
  - contact tracing of one worker over one day.

It prints figures and asserts nothing. Target: <= 500 ms p95.
    .venv/bin/python tests/bench/bench_board.py [--backends sqlite,postgresql] [--runs 20]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Run as a script (`make bench`), so the repository root is not on the path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg
from flask import Flask
from sqlalchemy import func, insert, select

from server import create_app
from server.extensions import db
from server.models import (
    Device,
    Enterprise,
    Gate,
    GateEvent,
    QuarantinedEvent,
    SyncBatch,
    User,
    Worker,
    Zone,
)
from server.settings import Settings
from server.text import fold
from server.tokens import hash_secret

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 1_000_000
WORKERS = 20_000
ZONES = 5
ENTERPRISES = 50
GATES_PER_ENTERPRISE = 2
TABLETS_PER_GATE = 2
DAYS = 30
MARKER = "BENCH-BOARD-"
INSPECTOR, PASSWORD = "bench-inspector", "bench-inspector-password"
LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_NAME = "gatelog_bench_board"
PG_BENCH = f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_NAME}"
SQLITE_BENCH = f"sqlite:///{ROOT / 'instance' / 'bench_board.sqlite3'}"
CHUNK = 20_000
HOME_PROVINCES = [
    (24, "Bắc Giang"),
    (24, "Bắc Ninh"),
    (33, "Thái Bình"),
    (33, "Hưng Yên"),
    (40, "Nghệ An"),
    (38, "Thanh Hóa"),
    (1, "Hà Nội"),
    (31, "Hải Phòng"),
    (None, ""),
]
EVENT_COLUMNS = (
    "id",
    "enterprise_id",
    "gate_id",
    "device_id",
    "seq",
    "seq_epoch",
    "direction",
    "method",
    "subject_type",
    "subject_value",
    "subject_kind",
    "worker_id",
    "occurred_at",
    "occurred_offset_minutes",
    "corrected_at",
    "received_at",
    "content_hash",
    "flags",
)


def bench_settings(url: str) -> Settings:
    return Settings(
        secret_key="bench-secret", database_url=url, testing=True, session_cookie_secure=False
    )


def ensure_postgres_database() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (PG_NAME,)
        ).fetchone()
        if not exists:
            connection.execute(f"CREATE DATABASE {PG_NAME}")


def _event_rows(
    rng: random.Random, devices: list[Device], workers: dict[int, list[int]], now: datetime
) -> Any:
    """Shifts of 07:00-17:00 local, each worker through one of its enterprise's tablets."""
    per_device = EVENTS // len(devices)
    seq = dict.fromkeys((device.id for device in devices), 0)
    # Every tenth tablet lost a few records: known gaps the health page must find.
    skipped = {device.id for device in devices[::10]}
    missing: dict[int, list[list[int]]] = {device.id: [] for device in devices}
    start = now - timedelta(days=DAYS)
    step = (now - start) / per_device
    for device in devices:
        staff = workers[device.enterprise_id]
        for n in range(per_device):
            at = start + step * n
            seq[device.id] += 1
            if device.id in skipped and n % 997 == 13:
                # What the sync engine records for such a jump: the skipped seqs are owed.
                missing[device.id].append([seq[device.id], seq[device.id] + 2])
                seq[device.id] += 3
            worker_id = staff[(n // 2) % len(staff)]
            yield {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "enterprise_id": device.enterprise_id,
                "gate_id": device.gate_id,
                "device_id": device.id,
                "seq": seq[device.id],
                "seq_epoch": 0,
                "direction": "in" if n % 2 == 0 else "out",
                "method": "scanner",
                "subject_type": "worker",
                "subject_value": str(worker_id),
                "subject_kind": "worker",
                "worker_id": worker_id,
                "occurred_at": at,
                "occurred_offset_minutes": 420,
                "corrected_at": at,
                "received_at": min(at + timedelta(seconds=rng.choice((2, 30, 90, 600, 7200))), now),
                "content_hash": hashlib.sha256(f"{device.id}-{n}".encode()).hexdigest(),
                "flags": [],
            }
    for device in devices:
        device.highest_seq = seq[device.id]
        device.missing_seq_ranges = missing[device.id]


def _copy_events(rows: Any) -> None:
    """PostgreSQL's COPY: the bulk path, an order of magnitude faster than INSERTs."""
    connection = db.session.connection().connection.dbapi_connection
    statement = f"COPY gate_event ({', '.join(EVENT_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([_copy_value(name, row[name]) for name in EVENT_COLUMNS])


def _copy_value(name: str, value: Any) -> Any:
    if name == "flags":
        return json.dumps(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)  # naive UTC, as UTCDateTime stores
    return value


def _insert_in_chunks(model: Any, rows: Any) -> None:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            db.session.execute(insert(model), batch)
            batch = []
    if batch:
        db.session.execute(insert(model), batch)


def seed(app: Flask) -> None:
    """Create and fill the bench database, unless a previous run already did."""
    with app.app_context():
        db.create_all()
        if db.session.scalar(select(User.id).where(User.username == INSPECTOR)) is not None:
            count = db.session.scalar(select(func.count()).select_from(GateEvent))
            print(f"   reusing the seeded database ({count:,} events)")
            return
        started = time.perf_counter()
        rng = random.Random(20261123)
        now = datetime.now(UTC)
        zones = [Zone(name=f"{MARKER}KCN {n}", province_code=24) for n in range(1, ZONES + 1)]
        db.session.add_all(zones)
        db.session.flush()
        enterprises = [
            Enterprise(
                tax_code=f"{MARKER}{n:04d}",
                name=f"Công ty Đo Tải {n}",
                zone_id=None if n % 10 == 0 else zones[n % ZONES].id,
                created_at=now,
            )
            for n in range(1, ENTERPRISES + 1)
        ]
        db.session.add_all(enterprises)
        db.session.flush()
        gates = [
            Gate(
                enterprise_id=e.id, code=f"G{g}", name=f"Cổng {g}", poster_token=f"BB{e.id:05d}{g}"
            )
            for e in enterprises
            for g in range(1, GATES_PER_ENTERPRISE + 1)
        ]
        db.session.add_all(gates)
        db.session.flush()
        devices = []
        for number, gate in enumerate(
            (gate for gate in gates for _ in range(TABLETS_PER_GATE)), start=1
        ):
            devices.append(
                Device(
                    enterprise_id=gate.enterprise_id,
                    gate_id=gate.id,
                    label=f"Máy {number}",
                    token_hash=hash_secret(f"bench-board-device-{number}"),
                    enrolled_at=now - timedelta(days=DAYS + 1),
                    last_sync_at=now - timedelta(minutes=rng.choice((1, 5, 45, 600, 3000))),
                    last_skew_seconds=rng.choice((0.4, -2.0, 180.0)),
                    reported_backlog=rng.choice((0, 0, 3, 40)),
                    oldest_pending_at=now - timedelta(minutes=rng.choice((2, 90))),
                    app_version="1.4.2",
                    revoked_at=now - timedelta(hours=5) if number % 50 == 0 else None,
                )
            )
        inspector = User(username=INSPECTOR, role="inspector", full_name="Thanh tra")
        inspector.set_password(PASSWORD)
        inspector.zones = zones
        db.session.add_all([*devices, inspector])
        db.session.flush()
        surnames = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Đặng", "Bùi", "Đỗ"]
        worker_rows = []
        for number in range(1, WORKERS + 1):
            code, raw = rng.choice(HOME_PROVINCES)
            name = f"{rng.choice(surnames)} Văn {number}"
            worker_rows.append(
                {
                    "enterprise_id": enterprises[number % ENTERPRISES].id,
                    "employee_code": f"NV{number:06d}",
                    "full_name": name,
                    "search_name": fold(name),
                    "phone": f"09{number:08d}",
                    "home_province_code": code,
                    "home_province_raw": raw,
                    "permanent_address": f"Xã {number}, {raw}",
                    "department": "May 1",
                    "badge_token": f"BB{number:019d}",
                    "active": number % 40 != 0,
                    "roster_version": number,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        _insert_in_chunks(Worker, worker_rows)
        workers: dict[int, list[int]] = {}
        for worker_id, enterprise_id in db.session.execute(select(Worker.id, Worker.enterprise_id)):
            workers.setdefault(enterprise_id, []).append(worker_id)
        rows = _event_rows(rng, devices, workers, now)
        if db.engine.dialect.name == "postgresql":
            _copy_events(rows)
        else:
            _insert_in_chunks(GateEvent, rows)
        batches = (
            {
                "client_batch_id": f"{device.id}-{hour}",
                "device_id": device.id,
                "received_at": now - timedelta(hours=hour),
                "sent_at": now - timedelta(hours=hour),
                "accepted": rng.randrange(0, 40),
                "backlog": 0,
                "skew_seconds": 0.5,
                "app_version": "1.4.2",
            }
            for device in devices
            for hour in range(0, 7 * 24)
        )
        _insert_in_chunks(SyncBatch, batches)
        db.session.add_all(
            QuarantinedEvent(
                enterprise_id=d.enterprise_id,
                device_id=d.id,
                seq=None,
                reason="invalid_event",
                raw="{}",
                received_at=now,
            )
            for d in devices[::7]
        )
        db.session.commit()
        _analyze()
        seconds = time.perf_counter() - started
        print(f"   seeded {WORKERS:,} workers and {EVENTS:,} events in {seconds:.0f} s")


def _analyze() -> None:
    """Fresh planner statistics; on PostgreSQL also the visibility map autovacuum keeps in
    production, so index-only scans are measured as they would run there."""
    if db.engine.dialect.name == "postgresql":
        with psycopg.connect(
            f"postgresql://postgres@127.0.0.1:5432/{PG_NAME}", autocommit=True
        ) as c:
            c.execute("VACUUM ANALYZE")
    else:
        db.session.execute(db.text("ANALYZE"))
        db.session.commit()


def _timings(client: Any, path: str, runs: int) -> tuple[float, float]:
    client.get(path)  # warm the caches and the compiled-statement cache once
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code)
    samples.sort()
    return statistics.median(samples), samples[max(0, round(0.95 * len(samples)) - 1)]


def measure(app: Flask, runs: int) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    response = client.post("/auth/login", data={"username": INSPECTOR, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    with app.app_context():
        worker_id, last = db.session.execute(
            select(GateEvent.worker_id, GateEvent.occurred_at)
            .where(GateEvent.worker_id.is_not(None))
            .order_by(GateEvent.occurred_at.desc())
            .limit(1)
        ).one()
    day = last.astimezone(LOCAL)
    window = f"start={(day - timedelta(days=1)):%Y-%m-%dT%H:%M}&end={day:%Y-%m-%dT%H:%M}"
    pages = {
        "sync health (200 tablets)": "/board/",
        "workers by province": "/board/labour",
        "contact tracing (1 day)": f"/board/tracing/workers/{worker_id}?{window}",
    }
    for label, path in pages.items():
        p50, p95 = _timings(client, path, runs)
        print(f"   {label:<28} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=20)
    arguments = parser.parse_args()
    for backend in arguments.backends.split(","):
        print(f"== {backend}")
        if backend == "postgresql":
            ensure_postgres_database()
            url = PG_BENCH
        else:
            url = SQLITE_BENCH
        app = create_app(bench_settings(url))
        seed(app)
        measure(app, arguments.runs)
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
