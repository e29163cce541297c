"""HR console benchmark: the gate log, presence and a timeline over a million events.

Seeds one enterprise with 50,000 workers and 1,000,000 events over 30 days (bulk inserts; a
database already seeded is reused), then prints, on SQLite and on PostgreSQL:

  - p50/p95 server time of the log's first page, of a deep page (a keyset cursor 20 days back),
    of the presence page and of a person's timeline (in-process requests, so server time only);
  - the peak RSS of a fresh worker process while it streams the whole log (1,000,000 rows) as CSV.

It prints figures and asserts nothing. Targets: pages <= 300 ms p95; export RSS <= 200 MB.
    .venv/bin/python tests/bench/bench_hr.py [--backends sqlite,postgresql] [--runs 20]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

# Run as a script (`make bench`), so the repository root is not on the path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg
from flask import Flask
from sqlalchemy import func, insert, select

from server import create_app
from server.extensions import db
from server.hr.activity.services import Cursor
from server.models import Device, Enterprise, Gate, GateEvent, User, Worker
from server.settings import Settings
from server.text import fold
from server.tokens import hash_secret

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 1_000_000
WORKERS = 50_000
DAYS = 30
TAX_CODE = "BENCH-HR-1"
HR_USERNAME = "bench-hr"
HR_PASSWORD = "bench-hr-password"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgresql+psycopg://postgres@127.0.0.1:5432/gatelog_bench_hr"
SQLITE_BENCH = f"sqlite:///{ROOT / 'instance' / 'bench_hr.sqlite3'}"
CHUNK = 20_000
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
        secret_key="bench-secret",
        database_url=url,
        testing=True,
        session_cookie_secure=False,
    )


def ensure_postgres_database() -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = 'gatelog_bench_hr'"
        ).fetchone()
        if not exists:
            connection.execute("CREATE DATABASE gatelog_bench_hr")


def _event_rows(
    rng: random.Random,
    enterprise_id: int,
    gates: list[Gate],
    devices: list[Device],
    workers: list[tuple[int, str]],
    now: datetime,
) -> Any:
    """About EVENTS entries and exits: each day a third of the staff comes for a 10-hour shift.

    Days are counted back from now, so the last shift is under way when the seed is written and
    the presence page has thousands of people on site, as at a real factory in the afternoon.
    """
    # Today's exits are still to come, so one day fewer of them: the total still reaches EVENTS.
    per_day = -(-EVENTS // (2 * DAYS - 1))
    seq = dict.fromkeys((device.id for device in devices), 0)
    produced = 0
    for back in range(DAYS - 1, -1, -1):
        shift_start = now - timedelta(days=back, hours=3)
        for worker_id, badge in rng.sample(workers, per_day):
            index = rng.randrange(len(gates))
            gate, device = gates[index], devices[index]
            came = shift_start + timedelta(seconds=rng.randrange(90 * 60))
            left = came + timedelta(hours=10, seconds=rng.randrange(60 * 60))
            for direction, at in (("in", came), ("out", left)):
                if at > now or produced >= EVENTS:
                    continue
                seq[device.id] += 1
                unresolved = rng.random() < 0.01
                received = at + timedelta(seconds=rng.choice((1, 2, 5, 30, 600, 7200)))
                produced += 1
                yield {
                    "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                    "enterprise_id": enterprise_id,
                    "gate_id": gate.id,
                    "device_id": device.id,
                    "seq": seq[device.id],
                    "seq_epoch": 0,
                    "direction": direction,
                    "method": "scanner",
                    "subject_type": "badge",
                    "subject_value": "UNKNOWNBADGE" if unresolved else badge,
                    "subject_kind": "unresolved" if unresolved else "worker",
                    "worker_id": None if unresolved else worker_id,
                    "occurred_at": at,
                    "occurred_offset_minutes": 420,
                    "corrected_at": at,
                    "received_at": min(received, now),
                    "content_hash": hashlib.sha256(str(produced).encode()).hexdigest(),
                    "flags": ["clock_skew"] if rng.random() < 0.005 else [],
                }


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
        # The columns hold naive UTC (see UTCDateTime).
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def _insert_events(rows: Any) -> None:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= CHUNK:
            db.session.execute(insert(GateEvent), batch)
            batch = []
    if batch:
        db.session.execute(insert(GateEvent), batch)


def seed(app: Flask) -> None:
    """Create and fill the bench database, unless a previous run already did."""
    with app.app_context():
        db.create_all()
        # The seed is one transaction, so an enterprise that exists was seeded completely.
        enterprise = db.session.scalar(select(Enterprise).where(Enterprise.tax_code == TAX_CODE))
        if enterprise is not None:
            count = db.session.scalar(
                select(func.count())
                .select_from(GateEvent)
                .where(GateEvent.enterprise_id == enterprise.id)
            )
            print(f"   reusing the seeded database ({count:,} events)")
            return
        started = time.perf_counter()
        rng = random.Random(20261123)
        now = datetime.now(UTC)
        enterprise = Enterprise(tax_code=TAX_CODE, name="Công ty Đo Tải", created_at=now)
        other = Enterprise(tax_code="BENCH-HR-2", name="Công ty Bên Cạnh", created_at=now)
        db.session.add_all([enterprise, other])
        db.session.flush()
        gates = [
            Gate(
                enterprise_id=enterprise.id,
                code=f"G{n}",
                name=f"Cổng {n}",
                poster_token=f"BENCHPOSTER{n:09d}",
            )
            for n in (1, 2, 3)
        ]
        db.session.add_all(gates)
        db.session.flush()
        devices = [
            Device(
                enterprise_id=enterprise.id,
                gate_id=gate.id,
                label=f"Máy {gate.code}",
                token_hash=hash_secret(f"bench-device-{gate.code}"),
                enrolled_at=now - timedelta(days=DAYS + 1),
                last_sync_at=now,
            )
            for gate in gates
        ]
        hr = User(username=HR_USERNAME, role="hr", enterprise_id=enterprise.id, full_name="HR")
        hr.set_password(HR_PASSWORD)
        db.session.add_all([*devices, hr])
        db.session.flush()
        departments = ["May 1", "May 2", "Cắt", "Hoàn thiện", "Kho", "Văn phòng"]
        surnames = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Đặng", "Bùi", "Đỗ"]
        given = ["An", "Bình", "Chi", "Dũng", "Đạt", "Hoa", "Lan", "Minh", "Nam", "Thảo"]
        worker_rows = []
        for number in range(1, WORKERS + 1):
            name = f"{rng.choice(surnames)} Văn {rng.choice(given)} {number}"
            worker_rows.append(
                {
                    "enterprise_id": enterprise.id,
                    "employee_code": f"NV{number:06d}",
                    "full_name": name,
                    "search_name": fold(name),
                    "department": rng.choice(departments),
                    "badge_token": f"B{number:019d}",
                    "active": True,
                    "roster_version": number,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        for start in range(0, WORKERS, CHUNK):
            db.session.execute(insert(Worker), worker_rows[start : start + CHUNK])
        workers = list(
            db.session.execute(
                select(Worker.id, Worker.badge_token).where(Worker.enterprise_id == enterprise.id)
            )
        )
        rows = _event_rows(rng, enterprise.id, gates, devices, workers, now)
        if db.engine.dialect.name == "postgresql":
            _copy_events(rows)
        else:
            _insert_events(rows)
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        seconds = time.perf_counter() - started
        print(f"   seeded {WORKERS:,} workers and ~{EVENTS:,} events in {seconds:.0f} s")


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


def measure_pages(app: Flask, runs: int) -> None:
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    response = client.post("/auth/login", data={"username": HR_USERNAME, "password": HR_PASSWORD})
    assert response.status_code == 302, response.status_code
    with app.app_context():
        enterprise_id = db.session.scalar(
            select(Enterprise.id).where(Enterprise.tax_code == TAX_CODE)
        )
        deep = datetime.now(UTC) - timedelta(days=20)
        row = db.session.execute(
            select(GateEvent.occurred_at, GateEvent.id)
            .where(GateEvent.enterprise_id == enterprise_id, GateEvent.occurred_at < deep)
            .order_by(GateEvent.occurred_at.desc(), GateEvent.id.desc())
            .limit(1)
        ).one()
        cursor = Cursor(row.occurred_at, str(row.id)).encode()
        # A worker picked from the middle of the log, not from its head.
        worker_id = db.session.scalar(
            select(GateEvent.worker_id)
            .where(GateEvent.enterprise_id == enterprise_id, GateEvent.worker_id.is_not(None))
            .order_by(GateEvent.occurred_at.desc())
            .offset(EVENTS // 2)
            .limit(1)
        )
    pages = {
        "log, first page": "/hr/log",
        "log, deep page (20 days back)": f"/hr/log?cursor={cursor}",
        "log, filtered (gate + direction)": "/hr/log?gate_id=&direction=out&lag=1h",
        "presence": "/hr/presence",
        "person timeline": f"/hr/log/people/{worker_id}",
    }
    for label, path in pages.items():
        p50, p95 = _timings(client, path, runs)
        print(f"   {label:<34} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")


EXPORT_CHILD = """
import resource, sys, time
sys.path.insert(0, {root!r})
from tests.bench.bench_hr import bench_settings, HR_USERNAME, HR_PASSWORD
from server import create_app
app = create_app(bench_settings({url!r}))
app.config["WTF_CSRF_ENABLED"] = False
client = app.test_client()
client.post("/auth/login", data={{"username": HR_USERNAME, "password": HR_PASSWORD}})
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
response = client.get("/hr/log/export.csv")
size = lines = 0
for chunk in response.response:
    data = chunk if isinstance(chunk, bytes) else chunk.encode()
    size += len(data)
    lines += data.count(b"\\n")
response.close()
elapsed = time.perf_counter() - started
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{{lines - 1}} {{size}} {{elapsed}} {{baseline / 1024}} {{peak / 1024}}")
"""


def measure_export(url: str) -> None:
    """Stream the whole log as CSV in a fresh process; its peak RSS is the figure."""
    script = EXPORT_CHILD.format(root=str(ROOT), url=url)
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, cwd=ROOT
    )
    if output.returncode != 0:
        print("   export failed:", output.stderr[-2000:])
        return
    rows, size, elapsed, baseline, peak = output.stdout.split()[-5:]
    print(
        f"   CSV export of {int(rows):,} rows ({int(size) / 2**20:.0f} MiB)"
        f" in {float(elapsed):.0f} s: peak RSS {float(peak):.0f} MB"
        f" (process at start {float(baseline):.0f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed-only", action="store_true", help="fill the databases only")
    arguments = parser.parse_args()
    for backend in arguments.backends.split(","):
        print(f"== {backend}")
        if backend == "postgresql":
            ensure_postgres_database()
            url = PG_BENCH
        else:
            (ROOT / "instance").mkdir(exist_ok=True)
            url = SQLITE_BENCH
        app = create_app(bench_settings(url))
        seed(app)
        if arguments.seed_only:
            continue
        measure_pages(app, arguments.runs)
        measure_export(url)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"(bench process peak RSS {peak:.0f} MB)")


if __name__ == "__main__":
    main()
