"""Tablets: their sync state, and revoking one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditLog
from tests.factories import login, make_device, make_enterprise, make_gate, make_user


@pytest.fixture
def site(app, client):
    enterprise = make_enterprise()
    hr = make_user("hr", enterprise=enterprise)
    login(client, hr)
    return {
        "enterprise": enterprise,
        "hr": hr,
        "gate": make_gate(enterprise, code="G1", name="Cổng chính"),
    }


def test_tablet_list_shows_sync_state(site, client):
    now = datetime.now(UTC)
    make_device(
        site["gate"],
        label="Máy đang chạy",
        last_sync_at=now - timedelta(minutes=2),
        reported_backlog=0,
        app_version="1.4.2",
        highest_seq=4321,
        last_skew_seconds=-300.0,
    )
    make_device(
        site["gate"],
        label="Máy còn tồn",
        last_sync_at=now - timedelta(hours=2),
        reported_backlog=17,
        oldest_pending_at=datetime(2026, 3, 10, 1, 0, tzinfo=UTC),
    )
    make_device(site["gate"], label="Máy chưa đồng bộ")
    make_device(make_gate(make_enterprise()), label="Máy công ty khác")

    html = client.get("/hr/tablets").get_data(as_text=True)

    assert "Máy đang chạy" in html
    assert "1.4.2" in html
    assert "4321" in html
    assert "-300 s" in html
    assert "10/03/2026 08:00" in html
    assert ">17<" in html
    assert "Máy chưa đồng bộ" in html
    assert "Máy công ty khác" not in html


def test_revoking_a_tablet_is_audited_and_locks_it_out_of_the_api(site, client):
    device, token = make_device(site["gate"], label="Máy bị mất")
    bearer = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/sync/roster", headers=bearer).status_code == 200

    response = client.post(f"/hr/tablets/{device.id}/revoke")

    assert response.status_code == 302
    db.session.expire_all()
    assert device.revoked_at is not None
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "revoke_device"))
    assert (audit.target_id, audit.user_id) == (str(device.id), site["hr"].id)
    assert client.get("/api/v1/sync/roster", headers=bearer).status_code == 401
    assert client.post("/api/v1/sync/push", headers=bearer, json={}).status_code == 401


def test_revoking_twice_keeps_the_first_revocation(site, client):
    device, _ = make_device(site["gate"])
    client.post(f"/hr/tablets/{device.id}/revoke")
    db.session.expire_all()
    first = device.revoked_at

    response = client.post(f"/hr/tablets/{device.id}/revoke", follow_redirects=True)

    assert 'class="flash flash-error"' in response.get_data(as_text=True)
    db.session.expire_all()
    assert device.revoked_at == first
    assert len(db.session.scalars(select(AuditLog)).all()) == 1


def test_another_enterprise_tablet_cannot_be_revoked(site, client):
    device, _ = make_device(make_gate(make_enterprise()))

    assert client.post(f"/hr/tablets/{device.id}/revoke").status_code == 404
    db.session.expire_all()
    assert device.revoked_at is None


def test_inspectors_cannot_revoke(site, client):
    device, _ = make_device(site["gate"])
    inspector = make_user("inspector", zones=())
    client.post("/auth/logout")
    login(client, inspector)

    assert client.post(f"/hr/tablets/{device.id}/revoke").status_code == 403
    assert client.get("/hr/tablets").status_code == 403


def test_a_replacement_code_names_the_tablet_and_another_enterprises_is_refused(site, client):
    from server.models import EnrolmentCode

    device, _ = make_device(site["gate"], label="Máy hỏng")
    response = client.post(f"/hr/tablets/{device.id}/replace")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "Máy hỏng" in response.get_data(as_text=True)
    code = db.session.scalar(select(EnrolmentCode))
    assert code is not None
    assert (code.replaces_device_id, code.gate_id) == (device.id, site["gate"].id)
    assert db.session.scalar(select(AuditLog.action)) == "issue_replacement_code"

    theirs, _ = make_device(make_gate(make_enterprise()))
    assert client.post(f"/hr/tablets/{theirs.id}/replace").status_code == 404
    assert len(db.session.scalars(select(EnrolmentCode)).all()) == 1
