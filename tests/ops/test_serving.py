"""gunicorn's hooks: each start counts from zero; a dead worker's counts still add up."""

from __future__ import annotations

import gc
from pathlib import Path
from types import SimpleNamespace

import pytest

from server import serving


def test_a_start_clears_the_previous_runs_metric_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_4242.db").write_bytes(b"old run")
    (directory / "notes.txt").write_text("not ours")
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(directory))
    monkeypatch.setenv("RATELIMIT_STORAGE_URI", "memory://")

    serving.on_starting(SimpleNamespace(cfg=SimpleNamespace(workers=1)))

    assert sorted(p.name for p in directory.iterdir()) == ["notes.txt"]


def test_a_dead_workers_live_gauges_go_and_its_counters_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    for name in ("counter_77.db", "gauge_livesum_77.db", "gauge_livesum_78.db"):
        (tmp_path / name).write_bytes(b"")

    serving.child_exit(None, SimpleNamespace(pid=77))

    assert sorted(p.name for p in tmp_path.iterdir()) == ["counter_77.db", "gauge_livesum_78.db"]


def test_a_worker_keeps_the_loaded_app_out_of_full_collections() -> None:
    try:
        serving.post_worker_init(None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
