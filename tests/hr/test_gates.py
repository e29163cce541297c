"""Gates: create, edit, QR poster link, tablet enrolment codes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditLog, EnrolmentCode, Gate
from tests.factories import login, make_enterprise, make_gate, make_user


@pytest.fixture
def site(app, client):
    enterprise = make_enterprise(name="Công ty May Hà Bắc")
    hr = make_user("hr", enterprise=enterprise)
    login(client, hr)
    return {
        "enterprise": enterprise,
        "hr": hr,
        "gate": make_gate(enterprise, code="G1", name="Cổng chính"),
    }


def test_hr_creates_a_gate_with_its_own_poster_token(site, client):
    response = client.post("/hr/gates/new", data={"code": "g2", "name": "Cổng phụ"})

    assert response.status_code == 302
    gate = db.session.scalar(select(Gate).where(Gate.code == "G2"))
    assert gate.enterprise_id == site["enterprise"].id
    assert gate.name == "Cổng phụ"
    assert gate.active
    assert re.fullmatch(r"[A-Z2-7]{20}", gate.poster_token)
    assert gate.poster_token != site["gate"].poster_token
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "create_gate"))
    assert audit.target_id == str(gate.id)
    assert "G2" in client.get("/hr/gates").get_data(as_text=True)


def test_a_gate_code_is_unique_within_the_enterprise_only(site, client):
    make_gate(make_enterprise(), code="G9")

    duplicate = client.post("/hr/gates/new", data={"code": "G1", "name": "Trùng mã"})
    elsewhere = client.post("/hr/gates/new", data={"code": "G9", "name": "Mã của công ty khác"})

    assert duplicate.status_code == 200
    assert 'class="error"' in duplicate.get_data(as_text=True)
    assert elsewhere.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Gate).where(Gate.code == "G1")) == 1


def test_bad_gate_input_gets_messages_and_writes_nothing(site, client):
    response = client.post("/hr/gates/new", data={"code": "cổng 3!", "name": ""})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count('class="error"') == 2
    assert db.session.scalar(select(func.count()).select_from(Gate)) == 1


def test_hr_edits_and_closes_a_gate(site, client):
    gate = site["gate"]
    assert "Cổng chính" in client.get(f"/hr/gates/{gate.id}/edit").get_data(as_text=True)

    response = client.post(f"/hr/gates/{gate.id}/edit", data={"code": "G1", "name": "Cổng số 1"})

    assert response.status_code == 302
    db.session.expire_all()
    assert (gate.name, gate.active) == ("Cổng số 1", False)
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "update_gate"))
    assert audit.details["before"]["name"] == "Cổng chính"


def test_editing_to_a_taken_code_is_refused(site, client):
    side = make_gate(site["enterprise"], code="G2", name="Cổng phụ")

    response = client.post(
        f"/hr/gates/{side.id}/edit", data={"code": "G1", "name": "x", "active": "y"}
    )

    assert response.status_code == 200
    db.session.expire_all()
    assert side.code == "G2"


def test_poster_page_shows_the_check_in_url_and_its_qr(site, client):
    gate = site["gate"]

    html = client.get(f"/hr/gates/{gate.id}/poster").get_data(as_text=True)

    assert f"http://localhost/c/{gate.poster_token}" in html
    assert "<svg" in html
    assert "<?xml" not in html
    assert "Công ty May Hà Bắc" in html


def test_enrolment_code_is_shown_as_qr_and_text_once_for_15_minutes(site, client):
    gate = site["gate"]
    before = datetime.now(UTC)

    response = client.post(f"/hr/gates/{gate.id}/enrol")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    code = re.search(r"GL1:E:([A-Z2-7]{10})", html).group(1)
    assert "<svg" in html
    stored = db.session.scalar(select(EnrolmentCode))
    assert stored.gate_id == gate.id
    assert stored.code_hash != code
    assert (
        before + timedelta(minutes=14)
        < stored.expires_at
        <= datetime.now(UTC) + timedelta(minutes=15)
    )
    assert db.session.scalar(select(AuditLog.action)) == "issue_enrolment_code"


def test_an_enrolment_code_enrols_a_tablet_through_the_api(site, client):
    html = client.post(f"/hr/gates/{site['gate'].id}/enrol").get_data(as_text=True)
    code = re.search(r"GL1:E:([A-Z2-7]{10})", html).group(1)

    first = client.post(
        "/api/v1/devices/enroll", json={"code": code, "label": "Máy 1", "app_version": "1.0.0"}
    )
    again = client.post(
        "/api/v1/devices/enroll", json={"code": code, "label": "Máy 2", "app_version": "1.0.0"}
    )

    assert first.status_code in (200, 201)
    assert again.status_code >= 400


def test_a_closed_gate_gets_no_enrolment_code(site, client):
    gate = site["gate"]
    gate.active = False
    db.session.commit()

    response = client.post(f"/hr/gates/{gate.id}/enrol", follow_redirects=True)

    assert 'class="flash flash-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(EnrolmentCode)) is None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/hr/gates/{id}/edit"),
        ("post", "/hr/gates/{id}/edit"),
        ("get", "/hr/gates/{id}/poster"),
        ("post", "/hr/gates/{id}/enrol"),
    ],
)
def test_another_enterprise_gate_is_404(site, client, method, path):
    other = make_gate(make_enterprise(), code="G1", name="Cổng của B")

    response = getattr(client, method)(path.format(id=other.id), data={"code": "X", "name": "Y"})

    assert response.status_code == 404
    db.session.expire_all()
    assert other.name == "Cổng của B"
    assert db.session.scalar(select(EnrolmentCode)) is None


def test_gate_list_shows_only_the_enterprise_gates(site, client):
    make_gate(make_enterprise(), code="B7", name="Cổng công ty B")

    html = client.get("/hr/gates").get_data(as_text=True)

    assert "Cổng chính" in html
    assert "Cổng công ty B" not in html


def test_hr_chooses_what_the_gates_keep_of_a_visitors_chip_id_card(site, client):
    page = client.get("/hr/gates").get_data(as_text=True)
    assert "Căn cước gắn chip (CCCD) của khách" in page
    assert page.count('type="checkbox"') == 3
    assert page.count("checked") == 3

    response = client.post(
        "/hr/gates/id-card", data={"fields_kept": ["province", "last4"]}, follow_redirects=True
    )

    assert "Đã lưu" in response.get_data(as_text=True)
    db.session.refresh(site["enterprise"])
    assert site["enterprise"].id_card_fields == ["last4", "province"]
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "update_id_card_fields"))
    assert audit.details == {
        "before": ["birth_date", "last4", "province"],
        "after": ["last4", "province"],
    }
    assert audit.enterprise_id == site["enterprise"].id
    # Nothing ticked keeps the name only.
    client.post("/hr/gates/id-card", data={})
    db.session.refresh(site["enterprise"])
    assert site["enterprise"].id_card_fields == []


def test_an_unknown_id_card_field_is_refused_and_changes_nothing(site, client):
    other = make_enterprise()
    response = client.post(
        "/hr/gates/id-card",
        data={"fields_kept": ["last4", "number"]},
        follow_redirects=True,
    )

    assert "Hãy chọn trong các mục đã liệt kê." in response.get_data(as_text=True)
    db.session.refresh(site["enterprise"])
    assert site["enterprise"].id_card_fields == ["birth_date", "last4", "province"]
    assert other.id_card_fields == ["birth_date", "last4", "province"]
    assert db.session.scalar(select(func.count(AuditLog.id))) == 0
