"""Check-in only at the gate: a code on a screen that changes every 30 seconds."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from server.checkin import routes as checkin_routes
from server.checkin import screen
from server.extensions import db
from server.models import GateEvent, GatePoster
from tests.checkin.helpers import checkin_body
from tests.factories import login, make_user

SECRET = "test-secret"


def put_on_screen(client, premises) -> GatePoster:
    login(client, make_user("hr", enterprise=premises.enterprise))
    answer = client.post(f"/hr/checkin/posters/{premises.poster.id}/screen", data={"on": "1"})
    assert answer.status_code == 302
    client.post("/auth/logout")
    db.session.expire_all()
    return db.session.get(GatePoster, premises.poster.id)


def current_code(poster: GatePoster) -> str:
    return screen.code_for(SECRET, poster, screen.window_of(datetime.now(UTC)))


def page_setup(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="config">(.*?)</script>', html, re.S)
    assert found is not None
    return json.loads(found.group(1))


def test_the_printed_code_alone_is_refused_on_a_screen_poster(client, premises) -> None:
    poster = put_on_screen(client, premises)
    worker = {"worker": premises.worker_identity()}

    page = client.get(premises.base)
    identify = client.post(f"{premises.base}/identify", json=worker)
    recorded = client.post(f"{premises.base}/checkins", json=checkin_body(worker, direction="out"))

    assert poster.screen_key is not None
    assert page.status_code == 403
    assert 'id="invalid"' in page.get_data(as_text=True)
    assert identify.get_json()["error"]["code"] == "not_at_gate"
    assert recorded.get_json()["error"]["code"] == "not_at_gate"
    assert db.session.scalar(select(func.count(GateEvent.id))) == 0


def test_the_screens_current_code_opens_the_page_and_lets_the_check_in_through(
    client, premises
) -> None:
    poster = put_on_screen(client, premises)

    page = client.get(f"{premises.base}?k={current_code(poster)}")
    presence = page_setup(page.get_data(as_text=True))["presence"]
    worker = {"worker": premises.worker_identity(), "presence": presence}
    identify = client.post(f"{premises.base}/identify", json=worker)
    recorded = client.post(f"{premises.base}/checkins", json=checkin_body(worker, direction="out"))

    assert page.status_code == 200
    assert identify.status_code == 200
    assert recorded.get_json()["status"] == "accepted"


def test_an_old_code_and_a_forged_pass_are_refused(client, premises) -> None:
    poster = put_on_screen(client, premises)
    old = screen.code_for(SECRET, poster, screen.window_of(datetime.now(UTC)) - 2)
    forged = screen.presence_pass("another-secret", poster)
    worker = {"worker": premises.worker_identity(), "presence": forged}

    assert client.get(f"{premises.base}?k={old}").status_code == 403
    assert client.get(f"{premises.base}?k=").status_code == 403
    assert client.post(f"{premises.base}/identify", json=worker).status_code == 422


def test_a_pass_covers_ten_minutes_after_the_scan_and_no_more() -> None:
    issued = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    now = issued + timedelta(hours=2)

    assert screen.present_then(issued, issued + timedelta(minutes=9), now)
    assert not screen.present_then(issued, issued + timedelta(minutes=11), now)
    assert not screen.present_then(issued, issued - timedelta(minutes=2), now)
    assert not screen.present_then(issued, issued, issued - timedelta(seconds=1))
    assert not screen.present_then(None, issued, now)


def test_the_screen_shows_a_fresh_qr_and_stops_when_switched_off(
    client, premises, monkeypatch
) -> None:
    poster = put_on_screen(client, premises)
    key = poster.screen_key
    window_start = datetime(2026, 11, 23, 3, 0, 30, tzinfo=UTC)
    monkeypatch.setattr(checkin_routes, "utcnow", lambda: window_start + timedelta(seconds=10))

    page = client.get(f"/c/screen/{key}")
    qr = client.get(f"/c/screen/{key}/qr.svg")

    assert page.status_code == 200
    assert f"/c/screen/{key}/qr.svg" in page.get_data(as_text=True)
    assert qr.mimetype == "image/svg+xml"
    assert qr.headers["Cache-Control"] == "no-store"
    assert qr.headers["X-Seconds-Left"] == "20.0"
    # At the very end of the window the screen still waits a moment, never "0.0".
    monkeypatch.setattr(checkin_routes, "utcnow", lambda: window_start + timedelta(seconds=29.96))
    assert client.get(f"/c/screen/{key}/qr.svg").headers["X-Seconds-Left"] == "0.1"
    monkeypatch.undo()
    assert client.get("/c/screen/NOSUCHKEY").status_code == 404

    login(client, make_user("hr", enterprise=premises.enterprise))
    client.post(f"/hr/checkin/posters/{premises.poster.id}/screen", data={"on": "0"})
    assert client.get(f"/c/screen/{key}").status_code == 404
    assert client.get(f"/c/screen/{key}/qr.svg").status_code == 404
    assert client.get(premises.base).status_code == 200
