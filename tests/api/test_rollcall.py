"""The roll-call API: who is inside across gates for a tablet, and the roll calls it sends."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import RollCall, RollCallEntry, utcnow
from tests.api.wire import error_code, post_json
from tests.factories import (
    make_device,
    make_enterprise,
    make_event,
    make_gate,
    make_visitor_pass,
    make_worker,
)


def entry(key: str, **overrides):
    return {
        "key": key,
        "kind": "worker",
        "name": "Nguyễn Văn An",
        "department": "May 1",
        **overrides,
    }


def roll_call(gate_id: int, *entries, **overrides):
    return {
        "id": str(uuid.uuid4()),
        "version": 1,
        "gate_id": gate_id,
        "started_at": (utcnow() - timedelta(minutes=5)).astimezone().isoformat(),
        "closed_at": None,
        "entries": list(entries),
        **overrides,
    }


def stored_entries() -> dict[str, tuple]:
    db.session.expire_all()
    return {
        row.person_key: (row.worker_id, row.name, row.ticked_at is not None)
        for row in db.session.scalars(select(RollCallEntry))
    }


def roll_call_count() -> int:
    return db.session.scalar(select(func.count(RollCall.id)))


def test_roll_call_is_stored_with_its_ticks_and_a_resend_is_a_duplicate(client, auth, gate, worker):
    ticked = utcnow().astimezone().isoformat()
    body = roll_call(
        gate.id,
        entry(f"w:{worker.id}", worker_id=worker.id, ticked_at=ticked),
        entry("v:khach la", kind="visitor", name="Khách Lạ", department=""),
    )
    first = post_json(client, "/rollcalls", body, auth)
    assert first.status_code == 200
    assert first.get_json()["status"] == "stored"
    again = post_json(client, "/rollcalls", body, auth)
    assert again.get_json() | {"server_time": None} == {
        "id": body["id"],
        "status": "duplicate",
        "version": 1,
        "server_time": None,
    }
    assert roll_call_count() == 1
    assert stored_entries() == {
        f"w:{worker.id}": (worker.id, "Nguyễn Văn An", True),
        "v:khach la": (None, "Khách Lạ", False),
    }


def test_a_higher_version_replaces_the_list_and_an_older_one_changes_nothing(client, auth, gate):
    body = roll_call(gate.id, entry("v:a", kind="visitor"), entry("v:b", kind="visitor"))
    post_json(client, "/rollcalls", body, auth)
    later = {
        **body,
        "version": 3,
        "closed_at": utcnow().astimezone().isoformat(),
        "entries": [entry("v:a", kind="visitor", ticked_at=utcnow().isoformat())],
    }
    assert post_json(client, "/rollcalls", later, auth).get_json()["status"] == "stored"
    # The copy of version 1 that arrives late, after a lost answer: it must not undo the tick.
    assert post_json(client, "/rollcalls", body, auth).get_json()["status"] == "stale"
    assert stored_entries() == {"v:a": (None, "Nguyễn Văn An", True)}
    stored = db.session.scalar(select(RollCall))
    assert stored.version == 3
    assert stored.closed_at is not None


def test_another_enterprises_gate_or_roll_call_id_is_refused_and_nothing_stored(client, auth, gate):
    other = make_enterprise()
    other_gate = make_gate(other)
    response = post_json(client, "/rollcalls", roll_call(other_gate.id), auth)
    assert response.status_code == 400
    assert error_code(response) == "validation_error"
    assert "gate_id" in response.get_json()["error"]["details"]

    _device, other_token = make_device(other_gate)
    taken = roll_call(other_gate.id)
    post_json(client, "/rollcalls", taken, {"Authorization": f"Bearer {other_token}"})
    mine = {**roll_call(gate.id, entry("v:x", kind="visitor")), "id": taken["id"], "version": 9}
    response = post_json(client, "/rollcalls", mine, auth)
    assert response.status_code == 400
    assert "id" in response.get_json()["error"]["details"]
    assert stored_entries() == {}
    assert db.session.scalar(select(RollCall)).gate_id == other_gate.id


def test_a_worker_of_another_enterprise_is_kept_by_name_without_the_link(client, auth, gate):
    stranger = make_worker(make_enterprise(), full_name="Người Ngoài")
    body = roll_call(gate.id, entry(f"w:{stranger.id}", worker_id=stranger.id, name="Người Ngoài"))
    assert post_json(client, "/rollcalls", body, auth).status_code == 200
    assert stored_entries() == {f"w:{stranger.id}": (None, "Người Ngoài", False)}


@pytest.mark.parametrize(
    "change",
    [
        {"entries": [entry("v:a"), entry("v:a")]},
        {"started_at": "2026-01-01T10:00:00"},
        {"version": 0},
        {"gate_id": "1"},
        {"extra": 1},
        {"entries": [entry("v:a", kind="robot")]},
        {"entries": [entry("v:a", name="x\x00y")]},
        {"id": "not-a-uuid"},
    ],
)
def test_a_broken_roll_call_gets_a_clear_error_and_nothing_is_stored(client, auth, gate, change):
    response = post_json(client, "/rollcalls", {**roll_call(gate.id), **change}, auth)
    assert response.status_code == 400
    assert error_code(response) == "validation_error"
    assert roll_call_count() == 0


def test_roll_call_routes_need_a_live_device_token(client, gate, device):
    assert post_json(client, "/rollcalls", roll_call(gate.id)).status_code == 401
    assert client.get("/api/v1/rollcalls/inside").status_code == 401
    device[0].revoked_at = utcnow()
    db.session.commit()
    headers = {"Authorization": f"Bearer {device[1]}"}
    assert (
        error_code(post_json(client, "/rollcalls", roll_call(gate.id), headers)) == "device_revoked"
    )


def test_inside_lists_everyone_on_site_across_gates_and_what_the_server_had_of_this_tablet(
    client, auth, enterprise, gate, device
):
    now = utcnow()
    side = make_gate(enterprise, code="G2", name="Cổng phụ")
    inside = make_worker(enterprise, full_name="Trần Thị Bình", department="Cắt")
    left = make_worker(enterprise, full_name="Lê Văn Cường")
    forgotten = make_worker(enterprise, full_name="Phạm Đức Dũng", department="Kho")
    make_event(side, worker=inside, occurred_at=now - timedelta(hours=1))
    make_event(gate, worker=left, occurred_at=now - timedelta(hours=2))
    make_event(gate, worker=left, occurred_at=now - timedelta(hours=1), direction="out")
    make_event(gate, worker=forgotten, occurred_at=now - timedelta(hours=20))
    visitor_pass = make_visitor_pass(enterprise, full_name="Đỗ Khách")
    make_event(
        gate,
        visitor_pass=visitor_pass,
        occurred_at=now - timedelta(minutes=30),
    )
    other = make_enterprise()
    make_event(make_gate(other), worker=make_worker(other), occurred_at=now - timedelta(hours=1))
    device[0].highest_seq = 40
    device[0].missing_seq_ranges = [[3, 5]]
    db.session.commit()

    answer = client.get("/api/v1/rollcalls/inside", headers=auth).get_json()
    people = {person["key"]: person for person in answer["people"]}
    assert set(people) == {f"w:{inside.id}", f"w:{forgotten.id}", "v:do khach"}
    assert people[f"w:{inside.id}"] | {"since": None} == {
        "key": f"w:{inside.id}",
        "kind": "worker",
        "worker_id": inside.id,
        "name": "Trần Thị Bình",
        "department": "Cắt",
        "code": inside.employee_code,
        "gate": "G2 · Cổng phụ",
        "since": None,
        "overdue": False,
    }
    assert people[f"w:{forgotten.id}"]["overdue"] is True
    assert people["v:do khach"]["worker_id"] is None
    assert answer["highest_seq"] == 40
    assert answer["missing_ranges"] == [[3, 5]]
