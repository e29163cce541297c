"""One policy: each threshold the administrator sets is what every channel and page judges by.

Each row sets one setting in Admin → Settings to a lenient and a strict value and checks a
channel or a page under both; the environment's value (the default) is the same in every case,
so a reader of the environment instead of the administrator's setting fails one of the two.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from server.extensions import db
from server.models import ConfigValue, Device, GateEvent, utcnow
from tests.api.wire import batch, event, post_json
from tests.checkin.helpers import checkin_body
from tests.factories import (
    login,
    make_device,
    make_enterprise,
    make_event,
    make_gate,
    make_poster,
    make_user,
    make_worker,
    make_zone,
)

PHONE = "0912345678"


@dataclass
class Site:
    gate: Any
    device: Device
    token: str
    worker: Any
    poster: Any
    hr: Any


@pytest.fixture
def site(app: Any) -> Site:
    """An enterprise with a gate, an enrolled tablet, a poster, a worker and an HR user."""
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    device, token = make_device(gate)
    worker = make_worker(enterprise, employee_code="NV777", phone=PHONE)
    site = Site(gate, device, token, worker, make_poster(enterprise=enterprise, gate=gate), None)
    site.hr = make_user("hr", enterprise=enterprise)
    db.session.commit()
    return site


def admin_sets(key: str, value: float) -> None:
    db.session.add(ConfigValue(key=key, value=value))
    db.session.commit()


def push_five_minutes_off(client: FlaskClient, site: Site) -> bool:
    """A tablet whose clock is 300 s behind pushes: is its event flagged clock_skew?"""
    sent = utcnow() - timedelta(seconds=300)
    scanned = event(1, site.gate.id, occurred_at=(sent - timedelta(minutes=1)).isoformat())
    body = batch(scanned, sent_at=sent.isoformat())
    answer = post_json(client, "/sync/push", body, {"Authorization": f"Bearer {site.token}"})
    assert answer.status_code == 200
    stored = db.session.get(GateEvent, uuid.UUID(scanned["id"]))
    return stored is not None and "clock_skew" in stored.flags


def checkin_five_minutes_off(client: FlaskClient, site: Site) -> bool:
    """A phone whose clock is 300 s behind checks in: is the check-in flagged clock_skew?"""
    behind = utcnow() - timedelta(seconds=300)
    body = checkin_body(
        {"worker": {"employee_code": "NV777", "phone": PHONE}},
        at=behind,
        sent_at=behind.isoformat(),
    )
    assert client.post(f"/c/{site.poster.token}/checkins", json=body).status_code == 200
    stored = db.session.get(GateEvent, uuid.UUID(body["id"]))
    return stored is not None and "clock_skew" in stored.flags


def tablets_page_flags_skew(client: FlaskClient, site: Site) -> bool:
    """Does the HR tablets page mark a tablet that last reported 300 s of skew?"""
    site.device.last_sync_at = utcnow()
    site.device.last_skew_seconds = 300.0
    db.session.commit()
    login(client, site.hr)
    page = client.get("/hr/tablets").get_data(as_text=True)
    return 'class="status-bad"' in page and "+300 s" in page


def board_flags_skew(client: FlaskClient, site: Site) -> bool:
    """Does the board's tablet page mark a tablet that last reported 300 s of skew?"""
    zone = make_zone()
    site.gate.enterprise.zone_id = zone.id
    site.device.last_sync_at = utcnow()
    site.device.last_skew_seconds = 300.0
    inspector = make_user("inspector", zones=(zone,))
    db.session.commit()
    login(client, inspector)
    page = client.get(f"/board/devices/{site.device.id}").get_data(as_text=True)
    assert "+300 s" in page
    return '<dd class="flagged">+300 s</dd>' in page


def tablets_page_calls_it_behind(client: FlaskClient, site: Site) -> bool:
    """Does the HR tablets page call a tablet silent for 45 minutes "behind"?"""
    site.device.last_sync_at = utcnow() - timedelta(minutes=45)
    db.session.commit()
    login(client, site.hr)
    return "status-warn" in client.get("/hr/tablets").get_data(as_text=True)


def entered_five_hours_ago(site: Site) -> None:
    make_event(
        site.gate, worker=site.worker, direction="in", occurred_at=utcnow() - timedelta(hours=5)
    )
    db.session.commit()


def checkin_proposes_exit(client: FlaskClient, site: Site) -> bool:
    """After an entry 5 hours ago, does self check-in propose "out"?"""
    entered_five_hours_ago(site)
    answer = client.post(
        f"/c/{site.poster.token}/identify",
        json={"worker": {"employee_code": "NV777", "phone": PHONE}},
    )
    return answer.get_json()["proposed"] == "out"


def roll_call_counts_them_inside(client: FlaskClient, site: Site) -> bool:
    """After an entry 5 hours ago, does the tablets' roll call list count them inside on time?"""
    entered_five_hours_ago(site)
    answer = client.get(
        "/api/v1/rollcalls/inside", headers={"Authorization": f"Bearer {site.token}"}
    ).get_json()
    [person] = answer["people"]
    return not person["overdue"]


def pairing_lets_the_stay_run(client: FlaskClient, site: Site) -> bool:
    """After an entry 5 hours ago, does HR's pairing page leave it without a "no exit" flag?"""
    entered_five_hours_ago(site)
    login(client, site.hr)
    page = client.get("/hr/pairing").get_data(as_text=True)
    return 'data-flag="exit_missing"' not in page


def presence_counts_them_on_site(client: FlaskClient, site: Site) -> bool:
    """After an entry 5 hours ago, does HR's presence page count them on site?"""
    entered_five_hours_ago(site)
    login(client, site.hr)
    page = client.get("/hr/presence").get_data(as_text=True)
    # The first figure of the page is the count on site.
    on_site = re.search(r"<dt>[^<]+</dt><dd>(\d+)</dd>", page)
    assert on_site is not None
    return on_site.group(1) == "1"


# (setting, value, what the check answers under it): the environment's defaults are 120 s of
# skew, 30 minutes to "behind" and a 12-hour shift, so each pair has one value on each side.
@pytest.mark.parametrize(
    ("key", "values", "check"),
    [
        ("skew_flag_seconds", {600: False, 120: True}, push_five_minutes_off),
        ("skew_flag_seconds", {600: False, 120: True}, checkin_five_minutes_off),
        ("skew_flag_seconds", {600: False, 120: True}, tablets_page_flags_skew),
        ("skew_flag_seconds", {600: False, 120: True}, board_flags_skew),
        ("lagging_after_minutes", {60: False, 30: True}, tablets_page_calls_it_behind),
        ("shift_hours", {12: True, 4: False}, checkin_proposes_exit),
        ("shift_hours", {12: True, 4: False}, roll_call_counts_them_inside),
        ("shift_hours", {12: True, 4: False}, presence_counts_them_on_site),
        ("shift_hours", {12: True, 4: False}, pairing_lets_the_stay_run),
    ],
    ids=[
        "push flags",
        "self check-in flags",
        "HR tablets page skew",
        "board tablet page skew",
        "HR tablets page lag",
        "self check-in direction",
        "roll call list",
        "presence",
        "pairing",
    ],
)
@pytest.mark.parametrize("pick", [0, 1], ids=["first value", "second value"])
def test_every_channel_and_page_follows_the_administrators_setting(
    client: FlaskClient,
    site: Site,
    key: str,
    values: dict[float, bool],
    check: Callable[[FlaskClient, Site], bool],
    pick: int,
) -> None:
    value, expected = list(values.items())[pick]
    admin_sets(key, value)

    assert check(client, site) is expected
