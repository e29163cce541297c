"""Visitor passes: registered with a window (today by default), shown, sent to gates, revoked."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import select

from server.extensions import db
from server.models import AuditLog, Visitor, VisitorPass, utcnow
from tests.factories import (
    login,
    make_device,
    make_enterprise,
    make_gate,
    make_user,
    make_visitor_pass,
)

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
INPUT_VALUE = re.compile(r'name="(valid_from|valid_until)"[^>]* value="([^"]+)"')


@pytest.fixture
def hr(client):
    enterprise = make_enterprise()
    user = make_user("hr", enterprise=enterprise)
    login(client, user)
    return user


def local_input(moment: datetime) -> str:
    return moment.astimezone(HANOI).strftime("%Y-%m-%dT%H:%M")


def test_the_form_offers_the_rest_of_today_in_viet_nam_time(client, hr):
    page = client.get("/hr/passes/new").get_data(as_text=True)
    values = dict(INPUT_VALUE.findall(page))
    today = utcnow().astimezone(HANOI).date().isoformat()
    assert values["valid_from"].startswith(today)
    assert values["valid_until"] == f"{today}T23:59"


def test_registering_a_visitor_makes_a_pass_the_gates_pull(client, hr):
    start = utcnow().replace(second=0, microsecond=0)
    end = start + timedelta(hours=4)
    response = client.post(
        "/hr/passes/new",
        data={
            "full_name": "Phan Thị Khách",
            "phone": "+84 913 000 111",
            "organisation": "Công ty Kiểm định ABC",
            "purpose": "Kiểm tra thiết bị",
            "host": "Anh Tuấn - Phòng kỹ thuật",
            "valid_from": local_input(start),
            "valid_until": local_input(end),
        },
    )
    assert response.status_code == 302
    visitor_pass = db.session.scalars(select(VisitorPass)).one()
    assert response.headers["Location"].endswith(f"/hr/passes/{visitor_pass.id}")
    assert (visitor_pass.valid_from, visitor_pass.valid_until) == (start, end)
    assert (visitor_pass.purpose, visitor_pass.host) == (
        "Kiểm tra thiết bị",
        "Anh Tuấn - Phòng kỹ thuật",
    )
    assert visitor_pass.visitor.phone == "0913000111"
    assert visitor_pass.visitor.organisation == "Công ty Kiểm định ABC"
    assert visitor_pass.enterprise_id == hr.enterprise_id
    assert len(visitor_pass.token) == 20

    _device, bearer = make_device(make_gate(hr.enterprise))
    pulled = client.get(
        "/api/v1/sync/roster?cursor=0", headers={"Authorization": f"Bearer {bearer}"}
    ).get_json()
    [gate_pass] = pulled["passes"]
    assert (gate_pass["token"], gate_pass["name"], gate_pass["active"]) == (
        visitor_pass.token,
        "Phan Thị Khách",
        True,
    )
    [entry] = db.session.scalars(select(AuditLog).where(AuditLog.action == "pass.create"))
    assert entry.target_id == str(visitor_pass.id)


@pytest.mark.parametrize(
    ("start_hours", "end_hours", "message"),
    [
        (2, 1, "Thời điểm hết hiệu lực phải sau thời điểm bắt đầu."),
        (0, 24 * 40, "Thẻ khách có hiệu lực tối đa 31 ngày."),
        (-5, -2, "Khoảng thời gian này đã qua."),
    ],
)
def test_impossible_windows_are_refused(client, hr, start_hours, end_hours, message):
    now = utcnow()
    page = client.post(
        "/hr/passes/new",
        data={
            "full_name": "Khách",
            "valid_from": local_input(now + timedelta(hours=start_hours)),
            "valid_until": local_input(now + timedelta(hours=end_hours)),
        },
    ).get_data(as_text=True)
    assert message in page
    assert db.session.scalar(select(VisitorPass.id)) is None
    assert db.session.scalar(select(Visitor.id)) is None


def test_a_bad_phone_or_missing_name_is_refused(client, hr):
    today = utcnow()
    page = client.post(
        "/hr/passes/new",
        data={
            "full_name": "  ",
            "phone": "12",
            "valid_from": local_input(today),
            "valid_until": local_input(today + timedelta(hours=1)),
        },
    ).get_data(as_text=True)
    assert "không phải số điện thoại Việt Nam" in page
    assert db.session.scalar(select(VisitorPass.id)) is None


def test_the_pass_page_shows_the_qr_and_is_audited(client, hr):
    visitor_pass = make_visitor_pass(hr.enterprise, full_name="Đinh Văn Khách")
    page = client.get(f"/hr/passes/{visitor_pass.id}").get_data(as_text=True)
    assert "Đinh Văn Khách" in page
    assert "<svg" in page
    assert "Đang có hiệu lực" in page
    png = client.get(f"/hr/passes/{visitor_pass.id}/qr.png")
    assert png.mimetype == "image/png"
    assert Image.open(io.BytesIO(png.get_data())).size[0] >= 200
    [view] = db.session.scalars(select(AuditLog).where(AuditLog.action == "pass.view"))
    assert view.target_id == str(visitor_pass.id)


def test_revoking_tells_the_gates_and_is_audited(client, hr):
    visitor_pass = make_visitor_pass(hr.enterprise)
    version = visitor_pass.roster_version
    client.post(f"/hr/passes/{visitor_pass.id}/revoke")
    db.session.expire_all()
    revoked = db.session.get(VisitorPass, visitor_pass.id)
    assert revoked.active is False
    assert revoked.roster_version > version
    page = client.get(f"/hr/passes/{visitor_pass.id}").get_data(as_text=True)
    assert "Đã thu hồi" in page
    assert "Thu hồi thẻ khách" not in page
    [entry] = db.session.scalars(select(AuditLog).where(AuditLog.action == "pass.revoke"))
    assert entry.target_id == str(visitor_pass.id)


def test_the_list_sorts_passes_by_status(client, hr):
    now = utcnow()
    make_visitor_pass(hr.enterprise, full_name="Khách Hôm Nay", now=now)
    make_visitor_pass(
        hr.enterprise,
        full_name="Khách Hôm Qua",
        valid_from=now - timedelta(days=1, hours=2),
        valid_until=now - timedelta(days=1),
    )
    make_visitor_pass(hr.enterprise, full_name="Khách Bị Thu", active=False)
    make_visitor_pass(make_enterprise(), full_name="Khách Nơi Khác")

    def listed(status: str) -> set[str]:
        page = client.get(f"/hr/passes/?status={status}").get_data(as_text=True)
        names = ("Khách Hôm Nay", "Khách Hôm Qua", "Khách Bị Thu", "Khách Nơi Khác")
        return {name for name in names if name in page}

    assert listed("current") == {"Khách Hôm Nay"}
    assert listed("expired") == {"Khách Hôm Qua"}
    assert listed("revoked") == {"Khách Bị Thu"}
    assert listed("all") == {"Khách Hôm Nay", "Khách Hôm Qua", "Khách Bị Thu"}


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/hr/passes/{pass_id}"),
        ("get", "/hr/passes/{pass_id}/qr.png"),
        ("post", "/hr/passes/{pass_id}/revoke"),
    ],
)
def test_another_enterprises_pass_is_not_found_and_unchanged(client, hr, method, url):
    stranger = make_visitor_pass(make_enterprise(), now=datetime.now(UTC))
    response = getattr(client, method)(url.format(pass_id=stranger.id))
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(VisitorPass, stranger.id).active is True
