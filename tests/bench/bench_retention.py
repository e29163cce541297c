"""Retention benchmark: plan and purge a year of gate events, in chunks, on SQLite and PostgreSQL.

Seeds one enterprise with 2,000 workers and 200,000 events over 400 days (the oldest 35 days
past a 365-day period), then prints the time of the dry run and of the purge, the purge rate,
and the process's peak RSS before and after the purge: no step loads more than one chunk, so
the purge should not raise the peak the seeding set.
It prints figures and asserts nothing.
    .venv/bin/python tests/bench/bench_retention.py [--backends sqlite,postgresql] [--events N]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

# Run as a script (`make bench`), so the repository root is not on the path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg
from sqlalchemy import func, insert, select

from server import create_app
from server.extensions import db
from server.models import DailyGateCount, Enterprise, Gate, GateEvent, Worker
from server.retention import Policy, plan_purge, purge
from tests.support import settings_for_tests

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_BENCH = "postgresql+psycopg://postgres@127.0.0.1:5432/gatelog_bench_retention"
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
POLICY = Policy(event_days=365, visitor_days=90, declaration_days=90, audit_days=1095)
WORKERS = 2_000


def seed(events: int) -> None:
    enterprise = Enterprise(tax_code="BENCH-RET", name="Công ty Bench")
    db.session.add(enterprise)
    db.session.flush()
    gate = Gate(enterprise_id=enterprise.id, code="G1", name="Cổng 1", poster_token="BENCHRET")
    db.session.add(gate)
    db.session.execute(
        insert(Worker),
        [
            {
                "enterprise_id": enterprise.id,
                "employee_code": f"B{n:05d}",
                "full_name": f"Người {n}",
                "home_province_code": n % 34 + 1,
            }
            for n in range(WORKERS)
        ],
    )
    db.session.flush()
    worker_ids = list(db.session.scalars(select(Worker.id)))
    step = timedelta(days=400) / events
    for start in range(0, events, 20_000):
        rows = []
        for n in range(start, min(start + 20_000, events)):
            at = NOW - timedelta(days=400) + step * n
            rows.append(
                {
                    "id": uuid.uuid4(),
                    "enterprise_id": enterprise.id,
                    "gate_id": gate.id,
                    "direction": "in" if n % 2 else "out",
                    "method": "scanner",
                    "subject_type": "worker",
                    "subject_value": str(worker_ids[n % WORKERS]),
                    "subject_kind": "worker",
                    "worker_id": worker_ids[n % WORKERS],
                    "occurred_at": at,
                    "occurred_offset_minutes": 420,
                    "corrected_at": at,
                    "received_at": at,
                    "content_hash": "0" * 64,
                    "flags": [],
                }
            )
        db.session.execute(insert(GateEvent), rows)
    db.session.commit()


def run(backend: str, url: str, events: int) -> None:
    app = create_app(settings_for_tests(url))
    with app.app_context():
        db.drop_all()
        db.create_all()
        seed(events)
        seeded_peak = _peak_mb()
        started = time.perf_counter()
        planned = {o.category: o.counts for o in plan_purge(NOW, POLICY)}
        dry = time.perf_counter() - started
        started = time.perf_counter()
        purge(NOW, POLICY, timezone="Asia/Ho_Chi_Minh", end_of_chunk=db.session.commit)
        took = time.perf_counter() - started
        gone = planned["events"]["gate_events"]
        counted = db.session.scalar(select(func.sum(DailyGateCount.count)))
        print(
            f"{backend}: {events} events, {gone} past the period; dry run {dry * 1000:.0f} ms; "
            f"purge {took:.2f} s ({gone / took:.0f} events/s); daily counts hold {counted}; "
            f"peak RSS {seeded_peak:.0f} MB after seeding, {_peak_mb():.0f} MB after the purge"
        )
        db.drop_all()
        db.session.remove()
        db.engine.dispose()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    for backend in args.backends.split(","):
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                run(backend, f"sqlite:///{tmp}/bench.sqlite3", args.events)
        else:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                exists = admin.execute(
                    "SELECT 1 FROM pg_database WHERE datname = 'gatelog_bench_retention'"
                ).fetchone()
                if not exists:
                    admin.execute("CREATE DATABASE gatelog_bench_retention")
            run(backend, PG_BENCH, args.events)


if __name__ == "__main__":
    main()
