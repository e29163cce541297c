"""Transactions at the edge: a failure half-way through a verb leaves nothing of its unit."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from server import retention
from server.extensions import db
from server.hr.backfill import services as backfill_services
from server.hr.outbox import services as outbox_services
from server.hr.roster import services as roster_services
from server.models import (
    AuditLog,
    DailyGateCount,
    Device,
    GateEvent,
    RosterImport,
    SyncBatch,
    Worker,
)
from server.retention import purge
from tests.api.wire import event
from tests.factories import (
    login,
    make_device,
    make_enterprise,
    make_event,
    make_gate,
    make_user,
    make_worker,
)
from tests.hr.test_backfill import commit_form, csv_upload, yesterday_at
from tests.hr.test_outbox_file import outbox, tablet_key, upload
from tests.retention.test_purge import NOW, POLICY, TZ


class Injected(RuntimeError):
    """The failure a test plants half-way through a unit of work."""


def failing_on_call(number: int, original: Callable[..., Any]) -> Callable[..., Any]:
    """`original`, except that its call `number` writes what is pending, then fails."""
    calls = 0

    def call(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == number:
            # Written to the database first, so that only a rollback can take it back.
            db.session.flush()
            raise Injected
        return original(*args, **kwargs)

    return call


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def roster_file(*codes: str) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["Mã NV", "Họ và tên", "Bộ phận"])
    for code in codes:
        sheet.append([code, f"Người {code}", "Kho"])
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()


def test_a_roster_import_failing_half_way_stores_no_worker_and_can_be_committed_again(
    client, monkeypatch
) -> None:
    enterprise = make_enterprise()
    make_worker(enterprise, employee_code="NV100")
    login(client, make_user("hr", enterprise=enterprise))
    page = client.post(
        "/hr/roster/import",
        data={"file": (io.BytesIO(roster_file("NV001", "NV002", "NV100")), "ds.xlsx")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    [key] = re.findall(r'name="key" type="hidden" value="([^"]+)"', page)
    # The workers are written and the dry run is marked used before the audit row fails.
    monkeypatch.setattr(
        roster_services, "record_audit", failing_on_call(1, roster_services.record_audit)
    )

    failed = client.post("/hr/roster/import/commit", data={"key": key})

    assert failed.status_code == 500
    db.session.expire_all()
    assert count(Worker) == 1
    assert db.session.scalars(select(RosterImport.committed_at)).one() is None
    assert count(AuditLog) == 0
    monkeypatch.undo()
    done = client.post("/hr/roster/import/commit", data={"key": key})
    assert done.status_code == 200
    assert count(Worker) == 3


def test_a_backfill_failing_after_its_events_are_written_stores_none_of_them(
    client, monkeypatch
) -> None:
    enterprise = make_enterprise()
    make_gate(enterprise, code="C1")
    make_worker(enterprise, employee_code="NV001")
    login(client, make_user("hr", enterprise=enterprise))
    day = yesterday_at(0, 0).strftime("%d/%m/%Y")
    page = csv_upload(
        client, f"Mã NV,Ngày,Giờ vào,Giờ ra,Cổng\nNV001,{day},07:30,17:05,C1\n"
    ).get_data(as_text=True)
    # The engine has written both events when the audit line, the last step of the unit, fails.
    monkeypatch.setattr(
        backfill_services, "record_audit", failing_on_call(1, backfill_services.record_audit)
    )

    failed = client.post("/hr/backfill/commit", data=commit_form(page))

    assert failed.status_code == 500
    db.session.expire_all()
    assert count(GateEvent) == 0
    assert count(AuditLog) == 0
    monkeypatch.undo()
    client.post("/hr/backfill/commit", data=commit_form(page))
    assert count(GateEvent) == 2


def test_a_tablet_file_failing_after_its_last_batch_stores_nothing_of_any_batch(
    client, monkeypatch
) -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    device, _ = make_device(gate)
    key = tablet_key(device)
    login(client, make_user("hr", enterprise=enterprise))
    # Three push-sized batches are written when the import's audit line fails.
    monkeypatch.setattr(
        outbox_services, "record_audit", failing_on_call(1, outbox_services.record_audit)
    )

    failed = upload(client, outbox(device, key, [event(seq, gate.id) for seq in range(1, 1203)]))

    assert failed.status_code == 500
    db.session.expire_all()
    assert count(GateEvent) == 0
    assert count(SyncBatch) == 0
    assert db.session.get(Device, device.id).highest_seq == 0
    monkeypatch.undo()
    assert upload(client, outbox(device, key, [event(1, gate.id)])).status_code == 200
    assert count(GateEvent) == 1


def test_a_purge_chunk_failing_half_way_is_undone_whole_and_the_chunks_before_stay(
    app, monkeypatch
) -> None:
    gate = make_gate(make_enterprise())
    for minute in range(6):
        make_event(gate, occurred_at=datetime(2025, 6, 1, 3, minute, tzinfo=UTC))
    # The second chunk has deleted its events when counting them into the daily counts fails.
    monkeypatch.setattr(
        retention, "_add_daily_counts", failing_on_call(2, retention._add_daily_counts)
    )

    with pytest.raises(Injected):
        purge(NOW, POLICY, timezone=TZ, chunk_size=2, end_of_chunk=db.session.commit)

    db.session.rollback()
    assert count(GateEvent) == 4
    assert db.session.scalar(select(func.sum(DailyGateCount.count))) == 2
    monkeypatch.undo()
    purge(NOW, POLICY, timezone=TZ, chunk_size=2, end_of_chunk=db.session.commit)
    assert count(GateEvent) == 0
    assert db.session.scalar(select(func.sum(DailyGateCount.count))) == 6


def test_a_view_that_fails_after_writing_commits_nothing_and_one_that_answers_commits(
    app, client, monkeypatch
) -> None:
    enterprise = make_enterprise()
    worker = make_worker(enterprise)
    login(client, make_user("hr", enterprise=enterprise))
    monkeypatch.setattr(
        roster_services, "record_audit", failing_on_call(1, roster_services.record_audit)
    )
    assert client.get(f"/hr/roster/{worker.id}").status_code == 500
    assert count(AuditLog) == 0

    monkeypatch.undo()
    assert client.get(f"/hr/roster/{worker.id}").status_code == 200
    # Read from another connection: the view's audit row was committed, not merely flushed.
    with db.engine.connect() as other:
        assert other.scalar(select(func.count()).select_from(AuditLog)) == 1
