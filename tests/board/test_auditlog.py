"""The audit log viewer: filters, scope and export."""

from __future__ import annotations

from datetime import UTC, datetime

from server.audit import record_audit
from server.extensions import db
from tests.factories import login, make_enterprise, make_user, make_zone


def test_filters_by_user_action_enterprise_and_date_within_scope(client, app) -> None:  # type: ignore[no-untyped-def]
    zone, other_zone = make_zone(), make_zone()
    mine, theirs = make_enterprise(zone_id=zone.id), make_enterprise(zone_id=other_zone.id)
    hr = make_user("hr", enterprise=mine, username="hr.mine")
    other_hr = make_user("hr", enterprise=theirs, username="hr.theirs")
    march, april = datetime(2026, 3, 5, 3, tzinfo=UTC), datetime(2026, 4, 5, 3, tzinfo=UTC)
    record_audit(hr, "hr.export_log", now=march, enterprise_id=mine.id)
    record_audit(
        hr, "hr.view_worker", now=april, enterprise_id=mine.id, target_type="worker", target_id=7
    )
    record_audit(other_hr, "hr.export_log", now=march, enterprise_id=theirs.id)
    db.session.commit()
    login(client, make_user("inspector", zones=(zone,)))

    def listed(query: str) -> str:
        response = client.get(f"/board/audit?{query}")
        assert response.status_code == 200
        return response.get_data(as_text=True)

    everything = listed("")
    assert "hr.mine" in everything
    assert "hr.theirs" not in everything
    assert "hr.view_worker" not in listed("action=hr.export_log").split("<tbody>")[1]
    assert "hr.export_log" not in listed("start=2026-04-01&end=2026-04-30").split("<tbody>")[1]
    assert "hr.mine" not in listed("username=hr.theirs").split("<tbody>")[1]
    assert client.get(f"/board/audit?enterprise_id={theirs.id}").status_code == 404
    export = client.get("/board/audit?format=csv", buffered=True).get_data(as_text=True)
    assert export.count("hr.mine") == 2
    assert client.get("/board/audit?start=not-a-date").status_code == 200
