"""The done-when check of the metrics: after a simulated day against gunicorn with two workers
(deploy/gunicorn.conf.py, PROMETHEUS_MULTIPROC_DIR), /metrics counts what the database holds."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from server.extensions import db
from server.models import GateEvent, SyncBatch
from tests.e2e.harness import (
    ROOT,
    enrolment_code,
    free_port,
    make_app,
    seed_world,
    wait_until,
)
from tests.ops.conftest import REDIS_URL, dispose, migrated_app
from tests.support import scratch_database

TABLETS = 3
EVENTS_PER_TABLET = 120


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:  # noqa: S310 - loopback
        text = response.read().decode()
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


def test_push_counters_equal_the_databases_counts_after_a_simulated_day(tmp_path: Path) -> None:
    with scratch_database(tmp_path, "simday") as database_url:
        dispose(migrated_app(database_url))
        app = make_app(database_url)
        world = seed_world(app, workers=20)
        codes = [enrolment_code(app, world.gates[n % 2]["id"]) for n in range(TABLETS)]
        (tmp_path / "codes.txt").write_text("\n".join(codes) + "\n")
        metrics_dir = tmp_path / "metrics"
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": "simulated-day-secret",
            "RATELIMIT_STORAGE_URI": REDIS_URL,
            "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
            "WEB_CONCURRENCY": "2",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
        }
        log_path = tmp_path / "gunicorn.log"
        with log_path.open("wb") as log:
            server = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until(lambda: answers(url), 60, f"gunicorn did not start; see {log_path}")
            simulation = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "sync.simulate",
                    "--url",
                    url,
                    "--devices",
                    str(TABLETS),
                    "--events",
                    str(EVENTS_PER_TABLET),
                    "--codes-file",
                    str(tmp_path / "codes.txt"),
                    "--offline-periods",
                    "2",
                    "--fault-rate",
                    "0.2",
                    "--push-every",
                    "5",
                    "--seed",
                    "17",
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            assert simulation.returncode == 0, simulation.stdout + simulation.stderr
            samples = scrape(url)
        finally:
            server.terminate()
            server.wait(timeout=30)

        with app.app_context():
            pushes = db.session.scalar(select(func.count()).select_from(SyncBatch))
            sums = db.session.execute(
                select(
                    func.sum(SyncBatch.accepted),
                    func.sum(SyncBatch.duplicate),
                    func.sum(SyncBatch.rejected),
                )
            ).one()
            stored = db.session.scalar(select(func.count()).select_from(GateEvent))
        dispose(app)

    def events(outcome: str) -> float:
        return sum(
            value
            for (name, labels), value in samples.items()
            if name == "gatelog_sync_events_total" and dict(labels)["outcome"] == outcome
        )

    assert stored == TABLETS * EVENTS_PER_TABLET
    assert samples[("gatelog_sync_pushes_total", (("outcome", "applied"),))] == pushes
    assert [events("accepted"), events("duplicate"), events("rejected")] == [
        sums[0] or 0,
        sums[1] or 0,
        sums[2] or 0,
    ]
    assert events("accepted") == stored
    # Both workers wrote their counters to the shared folder, and the scrape added them up.
    writers = {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}
    print(
        f"simulated day: {pushes} pushes, {stored} events, {sums[1]} duplicates, "
        f"counters from {len(writers)} workers"
    )
