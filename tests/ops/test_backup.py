"""Backups proven by a restore: the README's steps, run as written, on the database the run uses.

deploy/gatelog-backup.sh backs a seeded database up (pg_dump -Fc, or SQLite's online backup),
deploy/gatelog-restore.sh restores it into a new database, `flask init-db` brings it to the
code's schema, and the app serves the restored data.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from server.extensions import db
from tests.ops.conftest import dispose, migrated_app
from tests.support import scratch_database

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def row_counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        counts = {
            table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }
        db.session.remove()
    return counts


def run(*command: str, **env: str) -> str:
    done = subprocess.run(
        command,
        env={**os.environ, "GATELOG_PYTHON": sys.executable, **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_a_backup_restored_into_a_new_database_is_served_whole(tmp_path: Path) -> None:
    backups = tmp_path / "backups"
    with scratch_database(tmp_path, "live") as live_url:
        live = migrated_app(live_url)
        with live.app_context():
            seeded = live.test_cli_runner().invoke(
                args=["seed-demo", "--workers", "40", "--days", "2"]
            )
        assert seeded.exit_code == 0, seeded.output
        before = row_counts(live)
        dispose(live)
        printed = run(
            str(DEPLOY / "gatelog-backup.sh"), DATABASE_URL=live_url, BACKUP_DIR=str(backups)
        )
        backup = Path(printed.strip().splitlines()[-1])
    # From here on only the backup file is used, as after losing the server.
    assert backup.parent == backups
    assert [p.name for p in backups.iterdir()] == [backup.name]

    with scratch_database(tmp_path, "restored") as restored_url:
        if restored_url.startswith("sqlite"):
            Path(restored_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        run(str(DEPLOY / "gatelog-restore.sh"), str(backup), restored_url)
        restored = migrated_app(restored_url)  # `flask init-db`, as the README's step says
        restored.config["WTF_CSRF_ENABLED"] = False
        after = row_counts(restored)
        client = restored.test_client()
        ready = client.get("/readyz")
        signed_in = client.post("/auth/login", data={"username": "hr1", "password": "demo-hr1"})
        landing = client.get("/hr/")
        dispose(restored)

    assert after == before
    assert before["gate_event"] > 0
    assert before["worker"] >= 40
    assert ready.status_code == 200, ready.get_json()
    assert signed_in.status_code == 302
    assert landing.status_code == 200
