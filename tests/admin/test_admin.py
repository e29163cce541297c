"""Administrators manage zones, enterprises, users and settings; bad input changes nothing."""

from __future__ import annotations

from server.extensions import db
from server.models import AuditLog, ConfigValue, Enterprise, User, Zone
from tests.factories import PASSWORD, login, make_enterprise, make_user, make_zone


def admin_client(client):  # type: ignore[no-untyped-def]
    admin = make_user("admin")
    login(client, admin)
    return admin


def test_admin_pages_render(client, app) -> None:  # type: ignore[no-untyped-def]
    admin_client(client)
    zone = make_zone()
    enterprise = make_enterprise(zone_id=zone.id)
    for url in (
        "/admin/",
        "/admin/zones",
        f"/admin/zones/{zone.id}",
        "/admin/enterprises",
        f"/admin/enterprises/{enterprise.id}",
        "/admin/users",
        "/admin/settings",
    ):
        assert client.get(url).status_code == 200, url


def test_create_and_rename_zone(client, app) -> None:  # type: ignore[no-untyped-def]
    admin_client(client)
    assert (
        client.post(
            "/admin/zones", data={"name": "KCN VSIP Bắc Ninh", "province_code": "24"}
        ).status_code
        == 302
    )
    zone = Zone.query.one()
    assert (zone.name, zone.province_code) == ("KCN VSIP Bắc Ninh", 24)
    client.post(f"/admin/zones/{zone.id}", data={"name": "KCN VSIP", "province_code": "0"})
    db.session.refresh(zone)
    assert (zone.name, zone.province_code) == ("KCN VSIP", None)
    duplicate = client.post("/admin/zones", data={"name": "KCN VSIP", "province_code": "0"})
    assert duplicate.status_code == 200
    assert Zone.query.count() == 1
    assert AuditLog.query.filter_by(action="admin.zone_created").count() == 1


def test_enterprise_in_a_zone_or_none(client, app) -> None:  # type: ignore[no-untyped-def]
    admin_client(client)
    zone = make_zone()
    client.post(
        "/admin/enterprises",
        data={
            "tax_code": "2300123456",
            "name": "May Bắc Ninh",
            "address": "Quế Võ",
            "zone_id": str(zone.id),
        },
    )
    enterprise = Enterprise.query.one()
    assert enterprise.zone_id == zone.id
    client.post(
        f"/admin/enterprises/{enterprise.id}",
        data={"tax_code": "2300123456", "name": "May Bắc Ninh", "address": "", "zone_id": "0"},
    )
    db.session.refresh(enterprise)
    assert enterprise.zone_id is None
    bad = client.post("/admin/enterprises", data={"tax_code": "12ab", "name": "X", "zone_id": "0"})
    assert bad.status_code == 200
    assert Enterprise.query.count() == 1
    taken = client.post(
        "/admin/enterprises", data={"tax_code": "2300123456", "name": "Y", "zone_id": "0"}
    )
    assert taken.status_code == 200
    assert Enterprise.query.count() == 1


def test_create_users_with_the_scope_their_role_needs(client, app) -> None:  # type: ignore[no-untyped-def]
    admin_client(client)
    zone, enterprise = make_zone(), make_enterprise()
    client.post(
        "/admin/users",
        data={
            "username": "thanhtra1",
            "full_name": "Thanh Tra",
            "role": "inspector",
            "enterprise_id": str(enterprise.id),
            "zone_ids": [str(zone.id)],
            "password": "mật khẩu đủ dài",
            "active": "y",
        },
    )
    inspector = User.query.filter_by(username="thanhtra1").one()
    assert [z.id for z in inspector.zones] == [zone.id]
    assert inspector.enterprise_id is None
    client.post(
        "/admin/users",
        data={
            "username": "nhansu1",
            "role": "hr",
            "enterprise_id": str(enterprise.id),
            "zone_ids": [str(zone.id)],
            "password": "mật khẩu đủ dài",
            "active": "y",
        },
    )
    hr = User.query.filter_by(username="nhansu1").one()
    assert hr.enterprise_id == enterprise.id
    assert hr.zones == []
    refused = client.post(
        "/admin/users",
        data={
            "username": "nhansu2",
            "role": "hr",
            "enterprise_id": "0",
            "password": "mật khẩu đủ dài",
            "active": "y",
        },
    )
    assert refused.status_code == 200
    assert User.query.filter_by(username="nhansu2").count() == 0
    no_zone = client.post(
        "/admin/users",
        data={
            "username": "thanhtra2",
            "role": "inspector",
            "enterprise_id": "0",
            "password": "mật khẩu đủ dài",
        },
    )
    assert no_zone.status_code == 200
    assert User.query.filter_by(username="thanhtra2").count() == 0


def test_deactivate_and_reset_password(client, app) -> None:  # type: ignore[no-untyped-def]
    admin_client(client)
    enterprise = make_enterprise()
    hr = make_user("hr", enterprise=enterprise, username="nhansu9")
    client.post(
        f"/admin/users/{hr.id}",
        data={"username": "nhansu9", "role": "hr", "enterprise_id": str(enterprise.id)},
    )
    db.session.refresh(hr)
    assert hr.active is False
    client.post(f"/admin/users/{hr.id}/password", data={"password": "một mật khẩu mới"})
    db.session.refresh(hr)
    assert hr.check_password("một mật khẩu mới")
    assert not hr.check_password(PASSWORD)
    client.post(f"/admin/users/{hr.id}/password", data={"password": "short"})
    db.session.refresh(hr)
    assert hr.check_password("một mật khẩu mới")
    assert AuditLog.query.filter_by(action="admin.password_reset").count() == 1


def test_admin_cannot_lock_themselves_out(client, app) -> None:  # type: ignore[no-untyped-def]
    admin = admin_client(client)
    client.post(
        f"/admin/users/{admin.id}",
        data={"username": admin.username, "role": "admin", "enterprise_id": "0"},
    )
    db.session.refresh(admin)
    assert admin.active is True


def test_settings_override_and_refuse_out_of_range(client, app) -> None:  # type: ignore[no-untyped-def]
    admin_client(client)
    form = {
        "lagging_after_minutes": "45",
        "stale_after_hours": "12",
        "paper_after_days": "5",
        "gone_home_after_days": "10",
        "shift_hours": "10",
        "skew_flag_seconds": "120",
        "event_retention_days": "365",
        "audit_retention_days": "1095",
        "visitor_retention_days": "90",
    }
    assert client.post("/admin/settings", data=form).status_code == 302
    saved = {row.key: row.value for row in ConfigValue.query.all()}
    assert saved["lagging_after_minutes"] == 45.0
    assert saved["shift_hours"] == 10.0
    bad = client.post("/admin/settings", data={**form, "lagging_after_minutes": "-3"})
    assert bad.status_code == 200
    assert db.session.get(ConfigValue, "lagging_after_minutes").value == 45.0


def test_hr_and_inspector_cannot_reach_admin(client, app) -> None:  # type: ignore[no-untyped-def]
    zone = make_zone()
    login(client, make_user("inspector", zones=(zone,)))
    assert client.get("/admin/users").status_code == 403
    client.post("/auth/logout")
    login(client, make_user("hr", enterprise=make_enterprise()))
    assert client.get("/admin/").status_code == 403


def test_forms_need_the_csrf_token(client, app, csrf_enabled) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("admin")
    page = client.get("/auth/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post(
        "/auth/login", data={"username": admin.username, "password": PASSWORD, "csrf_token": token}
    )
    assert client.post("/admin/zones", data={"name": "KCN Không Token"}).status_code == 400
    assert Zone.query.count() == 0
