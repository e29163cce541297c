"""Roster pull: the device's enterprise only, by change counter, with tombstones."""

from __future__ import annotations

from flask.testing import FlaskClient

from server.extensions import db
from server.models import Enterprise, Gate, Worker
from server.roster import mark_changed
from tests.factories import make_enterprise, make_visitor_pass, make_worker


def pull(client: FlaskClient, auth: dict[str, str], query: str = "") -> dict:
    response = client.get(f"/api/v1/sync/roster?{query}", headers=auth)
    assert response.status_code == 200
    return response.get_json()


def test_roster_pages_hold_only_what_a_gate_needs_of_its_own_enterprise(
    client: FlaskClient,
    enterprise: Enterprise,
    gate: Gate,
    worker: Worker,
    auth: dict[str, str],
) -> None:
    second = make_worker(enterprise, phone="0912 345 678", department="")
    visitor_pass = make_visitor_pass(enterprise)
    make_worker(make_enterprise())

    first_page = pull(client, auth, "cursor=0&limit=2")
    rest = pull(client, auth, f"cursor={first_page['next_cursor']}&limit=2")

    assert [p["id"] for p in first_page["people"]] == [worker.id, second.id]
    assert first_page["has_more"] is True
    assert first_page["people"][1] == {
        "id": second.id,
        "code": second.employee_code,
        "name": second.full_name,
        "department": None,
        "badge_token": second.badge_token,
        "phone_last4": "5678",
        "active": True,
        "version": second.roster_version,
    }
    assert [p["id"] for p in rest["passes"]] == [visitor_pass.id]
    assert rest["passes"][0]["token"] == visitor_pass.token
    assert rest["has_more"] is False
    assert rest["next_cursor"] == visitor_pass.roster_version


def test_deactivation_and_reissue_come_back_as_changes(
    client: FlaskClient, gate: Gate, worker: Worker, auth: dict[str, str]
) -> None:
    cursor = pull(client, auth)["next_cursor"]
    old_badge = worker.badge_token
    worker.badge_token = "REISSUEDREISSUEDREIS"
    mark_changed(worker)
    db.session.commit()
    reissued = pull(client, auth, f"cursor={cursor}")
    worker.active = False
    mark_changed(worker)
    db.session.commit()

    tombstone = pull(client, auth, f"cursor={reissued['next_cursor']}")

    assert [p["badge_token"] for p in reissued["people"]] == ["REISSUEDREISSUEDREIS"]
    assert old_badge != "REISSUEDREISSUEDREIS"
    assert [(p["id"], p["active"]) for p in tombstone["people"]] == [(worker.id, False)]
    assert pull(client, auth, f"cursor={tombstone['next_cursor']}")["people"] == []


def test_an_empty_page_keeps_the_cursor(
    client: FlaskClient, gate: Gate, worker: Worker, auth: dict[str, str]
) -> None:
    cursor = pull(client, auth)["next_cursor"]

    page = pull(client, auth, f"cursor={cursor}&_=1700000000")

    assert (page["people"], page["passes"], page["has_more"]) == ([], [], False)
    assert page["next_cursor"] == cursor


def test_a_cursor_ahead_of_the_server_starts_over(
    client: FlaskClient, gate: Gate, worker: Worker, auth: dict[str, str]
) -> None:
    # What a tablet holds after the server's database was restored from an older backup.
    page = pull(client, auth, "cursor=999999")

    assert [p["id"] for p in page["people"]] == [worker.id]
    assert page["next_cursor"] == worker.roster_version


def test_every_page_says_what_the_gates_keep_of_a_chip_id_card(
    client: FlaskClient, enterprise: Enterprise, auth: dict[str, str]
) -> None:
    assert pull(client, auth)["id_card_fields"] == ["birth_date", "last4", "province"]
    other = make_enterprise()
    other.id_card_fields = []
    enterprise.id_card_fields = ["last4"]
    db.session.commit()

    # A change of the choice needs no roster change: an empty page carries it too.
    page = pull(client, auth, f"cursor={enterprise.roster_version}")

    assert page["people"] == []
    assert page["passes"] == []
    assert page["id_card_fields"] == ["last4"]
