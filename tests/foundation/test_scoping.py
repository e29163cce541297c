"""Scoping proven for every console route, including routes added after this test was written.

Route arguments that name a row follow one convention (<thing>_id); the fixtures below give each
thing a row of another enterprise, and every console route must answer 404 or 403 to it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule

from server.extensions import db
from server.models import AuditLog, QuarantinedEvent, SyncBatch
from server.views_common import INSPECTOR_WRITABLE_ENDPOINTS
from tests import factories
from tests.factories import (
    login,
    make_device,
    make_enterprise,
    make_event,
    make_gate,
    make_user,
    make_visitor_pass,
    make_worker,
    make_zone,
)

CONSOLE_BLUEPRINTS = ("hr", "board", "admin")
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Arguments that are not row ids, with a harmless value.
VALUE_ARGUMENTS = {
    "day": "2026-01-01",
    "fmt": "csv",
    "document_format": "pdf",
    "format": "csv",
    "province_code": "24",
    "filename": "x.csv",
}


def console_rules(app: Flask) -> Iterator[Rule]:
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in CONSOLE_BLUEPRINTS:
            yield rule


def make_tenant(zone: Any) -> dict[str, Any]:
    """An enterprise with one row of every kind a console route may name."""
    enterprise = make_enterprise(zone_id=zone.id)
    gate = make_gate(enterprise)
    worker = make_worker(enterprise)
    device, _token = make_device(gate)
    event = make_event(gate, worker=worker, device=device)
    visitor_pass = make_visitor_pass(enterprise)
    batch = SyncBatch(client_batch_id=str(uuid.uuid4()), device_id=device.id)
    db.session.add(batch)
    db.session.flush()
    quarantined = QuarantinedEvent(
        enterprise_id=enterprise.id,
        device_id=device.id,
        batch_id=batch.id,
        reason="invalid_event",
        raw="{}",
    )
    db.session.add(quarantined)
    db.session.commit()
    hr = make_user("hr", enterprise=enterprise)
    ids: dict[str, Any] = {
        "enterprise_id": enterprise.id,
        "zone_id": zone.id,
        "gate_id": gate.id,
        "worker_id": worker.id,
        "device_id": device.id,
        "event_id": str(event.id),
        "visitor_id": visitor_pass.visitor_id,
        "pass_id": visitor_pass.id,
        "batch_id": batch.id,
        "quarantined_id": quarantined.id,
        "user_id": hr.id,
    }
    # Rows of later features come from their own factories, when those features exist.
    for thing in ("poster", "question", "roll_call"):
        maker = getattr(factories, f"make_{thing}", None)
        if maker is not None:
            ids[f"{thing}_id"] = maker(enterprise=enterprise, gate=gate).id
    return {"enterprise": enterprise, "hr": hr, "ids": ids}


@pytest.fixture
def tenants(app: Flask) -> dict[str, Any]:
    """Enterprise A in zone 1, enterprise B in zone 2, an inspector of zone 1, an admin."""
    zone_a, zone_b = make_zone(), make_zone()
    a, b = make_tenant(zone_a), make_tenant(zone_b)
    inspector = make_user("inspector", zones=(zone_a,))
    return {"a": a, "b": b, "inspector": inspector}


def url_for_rule(rule: Rule, ids: dict[str, Any]) -> str:
    values = {}
    for argument in rule.arguments:
        if argument in ids:
            values[argument] = ids[argument]
        elif argument in VALUE_ARGUMENTS:
            values[argument] = VALUE_ARGUMENTS[argument]
        else:
            pytest.fail(
                f"route {rule.rule} ({rule.endpoint}) has argument {argument!r}: name row ids "
                f"<thing>_id with a thing the scoping test knows, or add it to VALUE_ARGUMENTS"
            )
    return rule.build(values, append_unknown=False)[1]  # type: ignore[index]


def test_anonymous_console_requests_redirect_to_login(app: Flask, client, tenants) -> None:
    for rule in console_rules(app):
        url = url_for_rule(rule, tenants["a"]["ids"])
        for method in sorted(rule.methods & ({"GET"} | WRITE_METHODS)):
            response = client.open(url, method=method)
            assert response.status_code == 302, (method, url, response.status_code)
            assert "/auth/login" in response.headers["Location"], (method, url)


def test_hr_gets_404_for_another_enterprises_ids_on_every_route(
    app: Flask, client, tenants
) -> None:
    login(client, tenants["a"]["hr"])
    for rule in console_rules(app):
        if not rule.arguments & set(tenants["b"]["ids"]):
            continue
        url = url_for_rule(rule, tenants["b"]["ids"])
        for method in sorted(rule.methods & ({"GET"} | WRITE_METHODS)):
            response = client.open(url, method=method, data={})
            assert response.status_code in (403, 404), (method, url, response.status_code)


# A form each HR write route accepts: posted to the HR user's own rows it changes them, so the
# same post refused on another enterprise's rows is refused by scoping, not by validation.
VALID_HR_FORMS: dict[str, dict[str, str]] = {
    "hr.gate_edit": {"code": "GX", "name": "Cổng đổi tên", "active": "y"},
    "hr.gate_enrol": {},
    "hr.tablet_revoke": {},
    "hr.tablet_replace": {},
    "hr.checkin_poster_rotate": {},
    "hr.checkin_poster_screen": {"on": "1"},
    "hr.checkin_poster_active": {"active": "0"},
    "hr.checkin_question": {"text_vi": "Bạn có sốt không?", "kind": "yes_no", "alert_on": "no"},
    "hr.checkin_question_retire": {},
    "hr.roster_edit": {"full_name": "Tên Đã Sửa", "employee_code": "NV99999", "sex": ""},
    "hr.roster_deactivate": {},
    "hr.roster_reactivate": {},
    "hr.roster_reissue": {},
    "hr.pass_revoke": {},
    "hr.resolve_event": {"employee_code": "NV99999"},
    "hr.pairing_resolve": {"flag": "exit_missing"},
    "hr.pairing_reopen": {"flag": "exit_missing"},
}
# Their rows' state, not their forms, refuses these on the tenant's data: its event already names
# its worker, carries no pairing flag and no resolution. The 404 sweep above covers their scoping.
REFUSED_BY_STATE = {"hr.resolve_event", "hr.pairing_resolve", "hr.pairing_reopen"}
# Reactivating an active worker is a no-op by design.
NO_CHANGE_ON_OWN_ROWS = {"hr.roster_reactivate"}


def snapshot() -> list[tuple[str, tuple]]:
    """Every row but the audit log's, comparable before and after."""
    db.session.expire_all()
    rows = []
    for table in db.metadata.sorted_tables:
        if table.name == AuditLog.__tablename__:
            continue
        rows += [(table.name, tuple(map(str, row))) for row in db.session.execute(table.select())]
    return sorted(rows)


def hr_write_rules(app: Flask, ids: dict[str, Any]) -> list[Rule]:
    rules = [
        rule
        for rule in console_rules(app)
        if rule.endpoint.startswith("hr.")
        and rule.arguments & set(ids)
        and rule.methods & WRITE_METHODS
    ]
    missing = sorted({rule.endpoint for rule in rules} - set(VALID_HR_FORMS))
    assert not missing, f"add a valid form for {missing} to VALID_HR_FORMS"
    return rules


def test_hr_writes_with_another_enterprises_ids_change_nothing(app: Flask, client, tenants) -> None:
    login(client, tenants["a"]["hr"])
    before = snapshot()
    for rule in console_rules(app):
        if not rule.arguments & set(tenants["b"]["ids"]) or not rule.methods & WRITE_METHODS:
            continue
        form = VALID_HR_FORMS.get(rule.endpoint, {"confirm": "1"})
        response = client.post(url_for_rule(rule, tenants["b"]["ids"]), data=form)
        assert response.status_code in (403, 404), (rule.endpoint, response.status_code)
    assert snapshot() == before


@pytest.mark.parametrize("endpoint", sorted(set(VALID_HR_FORMS) - REFUSED_BY_STATE))
def test_the_scoping_forms_are_valid_they_change_the_users_own_rows(
    app: Flask, client, tenants, endpoint: str
) -> None:
    [rule] = [r for r in hr_write_rules(app, tenants["a"]["ids"]) if r.endpoint == endpoint]
    login(client, tenants["a"]["hr"])
    before = snapshot()
    response = client.post(url_for_rule(rule, tenants["a"]["ids"]), data=VALID_HR_FORMS[endpoint])
    assert response.status_code < 400, (endpoint, response.status_code)
    if endpoint not in NO_CHANGE_ON_OWN_ROWS:
        assert snapshot() != before, endpoint


def test_inspector_sees_only_its_zones(app: Flask, client, tenants) -> None:
    login(client, tenants["inspector"])
    for rule in console_rules(app):
        if not rule.endpoint.startswith("board.") or "GET" not in rule.methods:
            continue
        if not rule.arguments & set(tenants["b"]["ids"]) - {"user_id"}:
            continue
        url = url_for_rule(rule, tenants["b"]["ids"])
        assert client.get(url).status_code in (403, 404), url


def test_inspector_cannot_submit_any_write(app: Flask, client, tenants) -> None:
    login(client, tenants["inspector"])
    allowed = INSPECTOR_WRITABLE_ENDPOINTS
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.split(".")[0]
        if blueprint in ("api", "pwa", "checkin", "static") or rule.endpoint in allowed:
            continue
        if not rule.methods & WRITE_METHODS:
            continue
        url = url_for_rule(rule, tenants["a"]["ids"])
        response = client.post(url, data={"confirm": "1"})
        assert response.status_code == 403, (url, response.status_code)


def test_hr_cannot_reach_board_or_admin(app: Flask, client, tenants) -> None:
    login(client, tenants["a"]["hr"])
    for rule in console_rules(app):
        if rule.endpoint.split(".")[0] in ("board", "admin") and "GET" in rule.methods:
            url = url_for_rule(rule, tenants["a"]["ids"])
            assert client.get(url).status_code == 403, url


def test_hr_landing_page_counts_only_its_own_enterprise(client, tenants) -> None:
    login(client, tenants["a"]["hr"])
    page = client.get("/hr/").get_data(as_text=True)
    assert tenants["a"]["enterprise"].name in page
    assert tenants["b"]["enterprise"].name not in page
