"""Printed badges: the QR of each worker's badge token, A4 print rules, and reissuing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import qrcode
import qrcode.constants
from sqlalchemy import select

from server.extensions import db
from server.models import AuditLog, Worker
from tests.factories import login, make_device, make_enterprise, make_gate, make_user, make_worker

SVG = re.compile(r"<svg[^>]*>.*?</svg>", re.S)
MODULE = re.compile(r"M(\d+),(\d+)H")
STATIC = Path(__file__).resolve().parents[2] / "server" / "static"


@pytest.fixture
def hr(client):
    enterprise = make_enterprise(name="Công ty TNHH Dệt Phú An")
    user = make_user("hr", enterprise=enterprise)
    login(client, user)
    return user


def dark_modules(svg: str) -> set[tuple[int, int]]:
    """The dark squares an SvgPathImage draws, one `Mx,yH…` path step each."""
    return {(int(x), int(y)) for x, y in MODULE.findall(svg)}


def expected_modules(content: str) -> set[tuple[int, int]]:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=2)
    code.add_data(content)
    code.make(fit=True)
    return {(x, y) for y, row in enumerate(code.get_matrix()) for x, dark in enumerate(row) if dark}


def test_a_badge_sheet_holds_a_card_per_worker_with_the_qr_of_its_token(client, hr):
    first = make_worker(
        hr.enterprise, full_name="Nguyễn Thị Mai", employee_code="NV1", department="May 1"
    )
    second = make_worker(hr.enterprise, full_name="Trần Văn Nam", employee_code="NV2")
    page = client.get(f"/hr/roster/badges?worker={first.id}&worker={second.id}").get_data(True)
    assert page.count('class="badge-card"') == 2
    assert "Nguyễn Thị Mai" in page
    assert "NV1" in page
    assert "May 1" in page
    assert "Công ty TNHH Dệt Phú An" in page
    svgs = SVG.findall(page)
    assert [dark_modules(svg) for svg in svgs] == [
        expected_modules(f"GL1:W:{first.badge_token}"),
        expected_modules(f"GL1:W:{second.badge_token}"),
    ]
    [entry] = db.session.scalars(select(AuditLog).where(AuditLog.action == "badge.print"))
    assert entry.details == {"count": 2}


def test_the_sheet_follows_the_list_filters_when_no_worker_is_ticked(client, hr):
    make_worker(hr.enterprise, full_name="Kho Một", department="Kho")
    make_worker(hr.enterprise, full_name="May Một", department="May")
    make_worker(hr.enterprise, full_name="Kho Nghỉ", department="Kho", active=False)
    page = client.get("/hr/roster/badges?department=Kho").get_data(as_text=True)
    assert "Kho Một" in page
    assert "May Một" not in page
    assert "Kho Nghỉ" not in page


def test_one_workers_badge_prints_alone(client, hr):
    worker = make_worker(hr.enterprise, full_name="Lý Thị Thu")
    make_worker(hr.enterprise, full_name="Người Khác")
    page = client.get(f"/hr/roster/{worker.id}/badge").get_data(as_text=True)
    assert page.count('class="badge-card"') == 1
    assert "Lý Thị Thu" in page


def test_badges_print_on_a4_at_bank_card_size():
    css = (STATIC / "badges.css").read_text()
    print_rules = css[css.index("@media print") :]
    assert "size: A4" in print_rules
    assert ".no-print" in print_rules
    assert re.search(r"\.badge-card \{[^}]*width: 85\.6mm; height: 54mm", css)
    assert "break-inside: avoid" in css


def test_reissue_replaces_the_token_for_the_next_roster_pull_and_is_audited(client, hr):
    worker = make_worker(hr.enterprise, employee_code="NV1")
    old_token, old_version = worker.badge_token, worker.roster_version
    _device, bearer = make_device(make_gate(hr.enterprise))

    response = client.post(f"/hr/roster/{worker.id}/badge/reissue")
    assert response.status_code == 302
    db.session.expire_all()
    reissued = db.session.get(Worker, worker.id)
    assert reissued.badge_token != old_token
    assert len(reissued.badge_token) == 20
    assert reissued.roster_version > old_version

    pulled = client.get(
        f"/api/v1/sync/roster?cursor={old_version}",
        headers={"Authorization": f"Bearer {bearer}"},
    ).get_json()
    assert [(p["code"], p["badge_token"]) for p in pulled["people"]] == [
        ("NV1", reissued.badge_token)
    ]
    [entry] = db.session.scalars(select(AuditLog).where(AuditLog.action == "badge.reissue"))
    assert (entry.target_id, entry.user_id) == (str(worker.id), hr.id)


def test_another_enterprises_workers_never_reach_a_badge_sheet(client, hr):
    stranger = make_worker(make_enterprise(), full_name="Người Lạ")
    page = client.get(f"/hr/roster/badges?worker={stranger.id}").get_data(as_text=True)
    assert "Người Lạ" not in page
    assert 'class="badge-card"' not in page
    assert client.get(f"/hr/roster/{stranger.id}/badge").status_code == 404
