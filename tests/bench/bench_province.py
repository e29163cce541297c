"""A province's gate records: every daily console page over 1M, 10M and 30M events.

For each size, a fresh database built by the migrations is seeded by server/seed.py's province
plan (200,000 workers in about 400 enterprises over 8 zones, 2,000 tablets, shifts by day and
night, absences, forgotten exits, tablets offline for hours that sent late, lost stretches,
silent tablets), its times relative to the real now, events by COPY on PostgreSQL. The number of
days sets the size: about 330,000 events a day. Then, logged in as the HR officer of the
largest enterprise and as the province's inspector (every zone), it prints p50/p95 of each page
(in-process requests: server time only), of the roster pull, and the time of a daily purge.

Not part of `make test`; `make bench` runs it at 1M only unless BENCH_PROVINCE_SIZES says more.
It prints figures and asserts nothing.
Targets: HR pages <= 300 ms p95, board pages <= 500 ms p95, flat from 1M to 30M; purge <= 60 s.
    .venv/bin/python tests/bench/bench_province.py [--sizes 1m,10m,30m] [--backends postgresql]
        [--runs 10] [--keep]
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

# Run as a script (`make bench`), so the repository root is not on the path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg
import time_machine
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask import Flask
from psycopg import sql
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.schema import DropConstraint

from server import last_passage, seed
from server.extensions import db
from server.hr.activity.services import Cursor
from server.models import (
    ConfigValue,
    Device,
    Enterprise,
    GateEvent,
    PersonLastPassage,
    User,
    Worker,
    utcnow,
)
from server.tokens import hash_secret, new_secret
from tests.bench.common import PG_PREFIX, drop_database, fresh_database, migrated_app

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
WORKERS = 200_000
TABLETS = 2_000
# Days of records that make each size with the province plan (about 330,000 events a day).
SIZES = {"1m": 3, "10m": 31, "30m": 93}
HR = ("bench-hr", "bench-hr-password-16")
INSPECTOR = ("inspector", "demo-inspector")
HR_TARGET_MS, BOARD_TARGET_MS = 300, 500
SEEDED_AT = "gatelog bench, seeded at "


def seeded(
    backend: str, size: str, scratch: Path, reuse: bool, at: time_of_day | None = None
) -> tuple[str, Flask, float, datetime]:
    """The database of `size`, its app, the seconds seeding took and the `now` it was seeded at.

    With `reuse`, a database kept by an earlier run is measured unseeded, provided
    the models ask nothing of it beyond new tables and indexes (made on it first); its records stay
    relative to the moment it was seeded, so the caller runs the app's clock from there.
    """
    name = f"province_{size}"
    if reuse and backend == "sqlite":
        # A kept SQLite file outlives the run's scratch folder: it lies in the system's temp one.
        scratch = Path(tempfile.gettempdir()) / PG_PREFIX
        scratch.mkdir(exist_ok=True)
    kept = _kept_url(backend, name, scratch)
    if reuse:
        seeded_at = _seeded_at(kept)
        if seeded_at is not None and _schema_brought_up(kept):
            return kept, migrated_app(kept, session_cookie_secure=False), 0.0, seeded_at
    if backend == "sqlite":
        _sqlite_path(kept).unlink(missing_ok=True)
    url = fresh_database(backend, name, scratch)
    app = migrated_app(url, session_cookie_secure=False)
    started = time.perf_counter()
    now = _seed_moment(at)
    with app.app_context():
        plan = seed.province_plan(WORKERS, TABLETS, SIZES[size])
        indexes = _drop_event_indexes()
        seed.seed_world(plan, seed=16, now=now, end_of_unit=db.session.commit)
        _restore_indexes(indexes)
    _analyze(url)
    _remember_seeded_at(url, now)
    return url, app, time.perf_counter() - started, now


def _seed_moment(at: time_of_day | None) -> datetime:
    """The real now, or the latest moment the local clock read `at`: the pages' load depends on
    the hour (at 14:20 the day shift is inside, at 19:00 most have gone home), so a run meant to
    be compared with another is seeded at the same hour."""
    now = utcnow()
    if at is None:
        return now
    local_now = now.astimezone(LOCAL)
    moment = datetime.combine(local_now.date(), at, tzinfo=LOCAL)
    if moment > local_now:
        moment -= timedelta(days=1)
    return moment.astimezone(UTC)


def _kept_url(backend: str, name: str, scratch: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{scratch / (name + '.sqlite3')}"
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{PG_PREFIX}_{name}"


def _sqlite_path(url: str) -> Path:
    return Path(url.removeprefix("sqlite:///"))


def _admin_connection(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(url.replace("+psycopg", ""), autocommit=True)


def _remember_seeded_at(url: str, now: datetime) -> None:
    """The seed's `now`, kept outside the schema the models own: as the PostgreSQL database's
    comment, or in a file beside the SQLite one."""
    if url.startswith("sqlite"):
        _sqlite_path(url).with_suffix(".seeded-at").write_text(f"{SEEDED_AT}{now.isoformat()}")
    else:
        with _admin_connection(url) as connection:
            database = url.rsplit("/", 1)[1]
            connection.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(
                    sql.Identifier(database), sql.Literal(f"{SEEDED_AT}{now.isoformat()}")
                )
            )


def _seeded_at(url: str) -> datetime | None:
    if url.startswith("sqlite"):
        remembered = _sqlite_path(url).with_suffix(".seeded-at")
        found = _sqlite_path(url).exists() and remembered.exists()
        comment = remembered.read_text() if found else None
    else:
        try:
            with _admin_connection(url) as connection:
                row = connection.execute(
                    "SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                    "WHERE datname = current_database()"
                ).fetchone()
        except psycopg.Error:
            return None
        comment = row[0] if row else None
    if not comment or not comment.startswith(SEEDED_AT):
        return None
    return datetime.fromisoformat(comment.removeprefix(SEEDED_AT))


def _schema_brought_up(url: str) -> bool:
    """Bring a kept database to the models where that needs no reseeding: tables they gained
    (empty, with their indexes), indexes they gained or lost, foreign keys they lost. False if
    they want more."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            wanted = compare_metadata(MigrationContext.configure(connection), db.metadata)
            kinds = ("add_table", "add_index", "remove_index", "remove_fk")
            if any(not (isinstance(d, tuple) and d[0] in kinds) for d in wanted):
                print("== the kept database wants more than new tables and indexes: reseeding")
                return False
            created = set()
            for kind, item in wanted:
                if kind == "add_table":
                    print(f"== creating table {item.name} on the kept database", flush=True)
                    item.create(connection)
                    created.add(item.name)
                elif kind == "remove_index":
                    print(f"== dropping {item.name} from the kept database", flush=True)
                    item.drop(connection)
                elif kind == "remove_fk":
                    # SQLite cannot drop a constraint; the key it keeps asks nothing of a write
                    # that the code does not already do (the purge deletes the rows first).
                    if connection.dialect.name != "sqlite":
                        print(f"== dropping {item.name} from the kept database", flush=True)
                        connection.execute(DropConstraint(item))
                elif item.table.name not in created:
                    print(f"== building {item.name} on the kept database", flush=True)
                    item.create(connection)
                    # As the seed's own indexes were: a planner without statistics for it
                    # may prefer it where it reads the most.
                    connection.execute(text(f'ANALYZE "{item.table.name}"'))
            kept = PersonLastPassage.__table__
            if kept.name in created:
                # Kept by every write since, it has to start from the events seeded; its unique
                # indexes first, which the fill's upsert names.
                for index in kept.indexes:
                    index.create(connection, checkfirst=True)
                print(f"== filling {kept.name} from the events", flush=True)
                last_passage.recount_all(connection)
                connection.execute(text(f"ANALYZE {kept.name}"))
        return True
    finally:
        engine.dispose()


def _drop_event_indexes() -> list[str]:
    """On PostgreSQL, gate_event's secondary indexes go before the load and come back after.

    Building an index once over sorted data is many times faster than keeping five of them up
    to date through 30 million random inserts; the definitions restored are the migration's.
    """
    if db.engine.dialect.name != "postgresql":
        return []
    definitions = db.session.execute(
        text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
            "('gate_event', 'sync_batch') AND indexname NOT LIKE 'pk_%'"
        )
    ).all()
    for name, _definition in definitions:
        db.session.execute(text(f'DROP INDEX "{name}"'))
    db.session.commit()
    return [definition for _name, definition in definitions]


def _restore_indexes(definitions: list[str]) -> None:
    if not definitions:
        return
    db.session.execute(text("SET maintenance_work_mem = '512MB'"))
    for definition in definitions:
        db.session.execute(text(definition))
    db.session.commit()


def _analyze(url: str) -> None:
    """Fresh planner statistics and, on PostgreSQL, the visibility map autovacuum would keep."""
    if url.startswith("postgresql"):
        with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as connection:
            connection.execute("VACUUM ANALYZE")
    else:
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            connection.execute("ANALYZE")


def _people(app: Flask) -> dict[str, Any]:
    """The largest enterprise, its HR officer, a tablet token, and whom and when to look at."""
    with app.app_context():
        enterprise_id, staff = db.session.execute(
            select(Worker.enterprise_id, func.count())
            .group_by(Worker.enterprise_id)
            .order_by(func.count().desc())
            .limit(1)
        ).one()
        user = db.session.scalar(select(User).where(User.username == HR[0])) or User(
            username=HR[0], role="hr", enterprise_id=enterprise_id, full_name="Bench HR"
        )
        user.set_password(HR[1])
        token = new_secret()
        gate_id = db.session.scalar(
            select(Device.gate_id).where(Device.enterprise_id == enterprise_id).limit(1)
        )
        device = Device(
            enterprise_id=enterprise_id,
            gate_id=gate_id,
            label="Bench roster pull",
            token_hash=hash_secret(token),
            app_version="bench",
        )
        db.session.add_all([user, device])
        events = db.session.scalar(select(func.count()).select_from(GateEvent))
        middle = datetime.now(UTC) - timedelta(days=1)
        # An exit: the traced day, which ends at it, then holds the stay it closes (ending it at
        # an entry left some sizes tracing nobody).
        worker_id, at, row_id = db.session.execute(
            select(GateEvent.worker_id, GateEvent.occurred_at, GateEvent.id)
            .where(
                GateEvent.enterprise_id == enterprise_id,
                GateEvent.worker_id.is_not(None),
                GateEvent.direction == "out",
                GateEvent.occurred_at < middle,
            )
            .order_by(GateEvent.occurred_at.desc(), GateEvent.id.desc())
            .limit(1)
        ).one()
        person = db.session.scalar(select(Worker.full_name).where(Worker.id == worker_id))
        some_device = db.session.scalar(
            select(Device.id).where(Device.enterprise_id == enterprise_id).limit(1)
        )
        db.session.commit()
        return {
            "enterprise_id": enterprise_id,
            "staff": staff,
            "events": events,
            "token": token,
            "gate_id": gate_id,
            "device_id": some_device,
            "worker_id": worker_id,
            "person": person,
            "cursor": Cursor(at, str(row_id)).encode(),
            "at": at,
        }


def _pages(found: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    day = found["at"].astimezone(LOCAL)
    window = f"start={(day - timedelta(days=1)):%Y-%m-%dT%H:%M}&end={day:%Y-%m-%dT%H:%M}"
    hr = {
        "log, first page": "/hr/log",
        "log, a day 1 day back": f"/hr/log?day_from={day:%Y-%m-%d}&day_to={day:%Y-%m-%d}",
        "log, next page (cursor)": f"/hr/log?cursor={found['cursor']}",
        "log, by gate": f"/hr/log?gate_id={found['gate_id']}",
        "log, by tablet": f"/hr/log?device_id={found['device_id']}",
        "log, direction out": "/hr/log?direction=out",
        "log, method manual": "/hr/log?method=manual",
        "log, sync delay > 1 h": "/hr/log?lag=1h",
        "log, person by name": f"/hr/log?person={found['person'].split()[-1]}",
        "person timeline": f"/hr/log/people/{found['worker_id']}",
        "unknown people": "/hr/log/unresolved",
        "presence": "/hr/presence",
        "pairing flags": "/hr/pairing",
        "roll-call list": "/hr/rollcall",
        "tablets": "/hr/tablets",
    }
    board = {
        "sync health": "/board/",
        "enterprise drill-down": f"/board/enterprises/{found['enterprise_id']}",
        "tablet sync history": f"/board/devices/{found['device_id']}",
        "province report": "/board/labour",
        "province report XLSX": "/board/labour?format=xlsx",
        "gone home": "/board/labour/gone-home",
        "tracing (1 day)": f"/board/tracing/workers/{found['worker_id']}?{window}",
        "audit log": "/board/audit",
    }
    return hr, board


def _timings(client: Any, path: str, runs: int, headers: dict[str, str] | None = None) -> str:
    first = client.get(path, headers=headers)  # warm caches and the compiled-statement cache
    first.close()
    if first.status_code != 200:
        return f"HTTP {first.status_code}"
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        _ = response.data
        # An unclosed streamed answer (the XLSX) would leave its app context for the next one.
        response.close()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[max(0, round(0.95 * len(samples)) - 1)]
    return f"{statistics.median(samples):.0f} / {p95:.0f}"


def _logged_in(app: Flask, credentials: tuple[str, str]) -> Any:
    client = app.test_client()
    response = client.post(
        "/auth/login", data={"username": credentials[0], "password": credentials[1]}
    )
    if response.status_code != 302:
        raise RuntimeError(f"login of {credentials[0]} answered {response.status_code}")
    return client


def _purge_seconds(app: Flask) -> str:
    """The daily purge: the retention period set one day short of the oldest record's age.

    The age is read where the purge reads it, enterprise by enterprise from the (enterprise,
    occurred_at) index; each run on a kept database lets its next oldest day go.
    """
    with app.app_context():
        first = (
            select(GateEvent.occurred_at)
            .where(GateEvent.enterprise_id == Enterprise.id)
            .order_by(GateEvent.occurred_at)
            .limit(1)
            .scalar_subquery()
        )
        oldest = db.session.scalar(select(func.min(first)))
        age = (utcnow() - oldest).total_seconds() / 86400 if oldest else 0.0
        if age < 31:
            return "not measured (under 31 days stored, the shortest retention is 30)"
        db.session.merge(ConfigValue(key="event_retention_days", value=age - 1))
        before = db.session.scalar(select(func.count()).select_from(GateEvent))
        db.session.commit()
    # `flask purge` gets its app context from the flask command; a test runner must push one.
    with app.app_context():
        started = time.perf_counter()
        result = app.test_cli_runner().invoke(args=["purge"])
        seconds = time.perf_counter() - started
    with app.app_context():
        after = db.session.scalar(select(func.count()).select_from(GateEvent))
    if result.exit_code != 0:
        return f"failed: {result.exception!r} {result.output[-300:]}"
    return f"{seconds:.1f} s for {before - after:,} events (target <= 60 s)"


def bench(backend: str, size: str, runs: int, keep: bool, at: time_of_day | None) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as scratch:
        url, app, seed_seconds, seeded_at = seeded(backend, size, Path(scratch), keep, at)
        app.config["WTF_CSRF_ENABLED"] = False
        # One JSON line per request would bury the table.
        logging.getLogger("gatelog.request").disabled = True
        # Every page is measured at the moment the records were seeded up to, however long the
        # seeding took or however long ago a kept database was made: presence, "gone home" and
        # the tablets' freshness depend on now. Only the app's clock moves (not perf_counter).
        with time_machine.travel(seeded_at, tick=True):
            column = _measure(app, backend, size, runs, seed_seconds)
        with app.app_context():
            db.engine.dispose()
        if not keep:
            drop_database(url)
        return column


def _measure(app: Flask, backend: str, size: str, runs: int, seed_seconds: float) -> dict[str, str]:
    found = _people(app)
    seeded_how = f"seeded in {seed_seconds:.0f} s" if seed_seconds else "kept from an earlier run"
    print(
        f"== {backend} {size}: {found['events']:,} events {seeded_how}; "
        f"HR of the largest enterprise ({found['staff']:,} workers)",
        flush=True,
    )
    hr_pages, board_pages = _pages(found)
    # As a served worker does after loading the app (server/serving.py): what the app holds stays
    # out of the collector's full passes, which would otherwise walk it inside measured requests.
    gc.collect()
    gc.freeze()
    column = {}
    hr = _logged_in(app, HR)
    for label, path in hr_pages.items():
        column[f"HR: {label}"] = _timings(hr, path, runs)
    inspector = _logged_in(app, INSPECTOR)
    for label, path in board_pages.items():
        column[f"board: {label}"] = _timings(inspector, path, runs)
    pull = app.test_client()
    headers = {"Authorization": f"Bearer {found['token']}"}
    column["tablet: roster pull, first page"] = _timings(pull, "/api/v1/sync/roster", runs, headers)
    column["daily purge"] = _purge_seconds(app)
    return column


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=os.environ.get("BENCH_PROVINCE_SIZES", "1m"))
    parser.add_argument("--backends", default="postgresql,sqlite")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the databases (SQLite's in the temp folder), and measure one kept by an "
        "earlier run unseeded",
    )
    parser.add_argument(
        "--at",
        type=time_of_day.fromisoformat,
        help="seed up to the latest moment the local clock (Asia/Ho_Chi_Minh) read HH:MM, "
        "instead of now: the pages' load depends on the hour",
    )
    args = parser.parse_args()
    columns: dict[str, dict[str, str]] = {}
    for backend in args.backends.split(","):
        for size in args.sizes.split(","):
            if backend == "sqlite" and size != "1m":
                continue
            try:
                columns[f"{backend} {size}"] = bench(backend, size, args.runs, args.keep, args.at)
            except psycopg.OperationalError as error:
                print(f"== {backend}: skipped, PostgreSQL is not reachable ({error})")
                continue
            # The table so far after each size: a long run interrupted still leaves its figures.
            print_table(columns, args.runs)


def print_table(columns: dict[str, dict[str, str]], runs: int) -> None:
    names = list(columns)
    print(f"p50 / p95 ms, {runs} runs after one warm-up, in-process requests")
    print("| page | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for row in next(iter(columns.values())):
        print(f"| {row} | " + " | ".join(columns[name].get(row, "") for name in names) + " |")
    print(
        f"Targets: HR pages <= {HR_TARGET_MS} ms p95, board pages <= {BOARD_TARGET_MS} ms p95, "
        "flat from 1M to 30M; daily purge <= 60 s."
    )


if __name__ == "__main__":
    main()
