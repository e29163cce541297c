"""Lists kept up to date: each list sent is recorded, and the board says what changed since."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from server.extensions import db
from server.models import AuditLog, SentList, utcnow
from tests.factories import (
    login,
    make_enterprise,
    make_event,
    make_gate,
    make_user,
    make_worker,
    make_zone,
)

NGHE_AN, THANH_HOA = 40, 38
# The gone-home threshold is measured from the real clock, so the events are placed by it.
NOW = utcnow()


def names_in(page: str, table: str) -> list[str]:
    body = re.search(rf'<table class="compact" id="{table}">(.*?)</table>', page, re.S)
    assert body is not None
    return re.findall(r"<tr><td>([^<]+)</td>", body.group(1))


@pytest.fixture
def zone_board(app: Flask, client):  # type: ignore[no-untyped-def]
    zone = make_zone(name="KCN Nam Cấm")
    enterprise = make_enterprise(name="Công ty Giày Nam Cấm", zone_id=zone.id)
    people = {
        name: make_worker(enterprise, full_name=name, home_province_code=NGHE_AN)
        for name in ("An Nghệ", "Bình Nghệ", "Cường Nghệ")
    }
    inspector = make_user("inspector", zones=(zone,))
    login(client, inspector)
    return zone, enterprise, people, inspector


def test_sending_a_list_records_the_transfer_and_returns_the_document(client, zone_board) -> None:
    zone, _enterprise, _people, inspector = zone_board
    before = client.get(f"/board/labour/province-list/changes?province={NGHE_AN}&zone_id={zone.id}")
    assert "chưa được gửi lần nào" in before.get_data(as_text=True)

    response = client.post(
        "/board/labour/province-list/send",
        data={"province": NGHE_AN, "zone_id": zone.id, "recipient": "Sở Nội vụ tỉnh Nghệ An"},
    )

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    [sent] = db.session.scalars(select(SentList))
    assert (sent.province_code, sent.zone_id, sent.rows, sent.user_id) == (
        NGHE_AN,
        zone.id,
        3,
        inspector.id,
    )
    assert sent.recipient == "Sở Nội vụ tỉnh Nghệ An"
    [entry] = db.session.scalars(select(AuditLog).where(AuditLog.action == "board.list_sent"))
    assert entry.details["rows"] == 3
    page = client.get("/board/labour/sent").get_data(as_text=True)
    assert "Sở Nội vụ tỉnh Nghệ An" in page
    assert inspector.username in page


def test_changes_since_the_list_was_sent_new_left_and_likely_gone_home(client, zone_board) -> None:
    zone, enterprise, people, _inspector = zone_board
    client.post(
        "/board/labour/province-list/send",
        data={"province": NGHE_AN, "zone_id": zone.id, "recipient": "Sở Nội vụ tỉnh Nghệ An"},
    )
    make_worker(enterprise, full_name="Dũng Mới", home_province_code=NGHE_AN)
    people["An Nghệ"].active = False
    people["Bình Nghệ"].home_province_code = THANH_HOA
    gate = make_gate(enterprise)
    make_event(
        gate, worker=people["Cường Nghệ"], direction="in", occurred_at=NOW - timedelta(days=21)
    )
    make_event(
        gate, worker=people["Cường Nghệ"], direction="out", occurred_at=NOW - timedelta(days=20)
    )
    db.session.commit()

    page = client.get(
        f"/board/labour/province-list/changes?province={NGHE_AN}&zone_id={zone.id}&days=14"
    ).get_data(as_text=True)

    assert "Sở Nội vụ tỉnh Nghệ An" in page
    assert names_in(page, "new") == ["Dũng Mới"]
    assert names_in(page, "left") == ["An Nghệ", "Bình Nghệ"]
    assert "không còn làm việc tại đây" in page
    assert "nay có nơi thường trú ở tỉnh khác" in page
    assert names_in(page, "gone-home") == ["Cường Nghệ"]


def test_another_zones_inspector_does_not_see_the_record(client, app, zone_board) -> None:
    zone, _enterprise, _people, _inspector = zone_board
    client.post(
        "/board/labour/province-list/send",
        data={"province": NGHE_AN, "zone_id": zone.id, "recipient": "Sở Nội vụ tỉnh Nghệ An"},
    )
    other = app.test_client()
    login(other, make_user("inspector", zones=(make_zone(),)))
    assert "Sở Nội vụ tỉnh Nghệ An" not in other.get("/board/labour/sent").get_data(as_text=True)
    refused = other.post(
        "/board/labour/province-list/send",
        data={"province": NGHE_AN, "zone_id": zone.id, "recipient": "Kẻ lạ"},
    )
    assert refused.status_code == 404
    assert db.session.query(SentList).count() == 1


def test_a_list_without_a_recipient_is_not_recorded(client, zone_board) -> None:
    zone, *_ = zone_board
    response = client.post(
        "/board/labour/province-list/send", data={"province": NGHE_AN, "zone_id": zone.id}
    )
    assert response.status_code == 400
    assert db.session.query(SentList).count() == 0
