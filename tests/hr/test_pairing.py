"""Pairing flags: HR sees forgotten exits, second entries, forgotten entries, and settles them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from server.extensions import db
from server.hr.pairing.services import PairingError, pairing_flags, reopen_flag, resolve_flag
from server.models import AuditLog, GateEvent, PairingResolution, utcnow
from tests.factories import (
    PASSWORD,
    login,
    make_enterprise,
    make_event,
    make_gate,
    make_user,
    make_worker,
)

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
SHIFT = timedelta(hours=12)
DAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 12, 3, 0, tzinfo=UTC)


def local(day: date, hhmm: str) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime.combine(day, time(hours, minutes), tzinfo=HANOI).astimezone(UTC)


@pytest.fixture
def site(app):
    """An enterprise whose workers show one case each, two days before NOW."""
    enterprise = make_enterprise()
    gate = make_gate(enterprise, code="G1", name="Cổng chính")
    side = make_gate(enterprise, code="G2", name="Cổng phụ")
    night = make_worker(enterprise, full_name="Ca Đêm")
    make_event(gate, worker=night, occurred_at=local(DAY, "22:00"))
    make_event(gate, worker=night, direction="out", occurred_at=local(DAY + timedelta(1), "06:00"))
    forgot = make_worker(enterprise, full_name="Quên Ra")
    forgotten = make_event(gate, worker=forgot, occurred_at=local(DAY, "08:00"))
    twice = make_worker(enterprise, full_name="Vào Hai Lần")
    first = make_event(gate, worker=twice, occurred_at=local(DAY, "07:30"))
    make_event(side, worker=twice, occurred_at=local(DAY, "09:00"))
    make_event(side, worker=twice, direction="out", occurred_at=local(DAY, "17:00"))
    return {
        "enterprise": enterprise,
        "gate": gate,
        "hr": make_user("hr", enterprise=enterprise),
        "forgotten": forgotten,
        "first": first,
    }


def listed(user, **overrides) -> list[tuple[str, str, str | None]]:
    arguments = {
        "day_from": DAY,
        "day_to": DAY + timedelta(days=1),
        "timezone": "Asia/Ho_Chi_Minh",
        "shift": SHIFT,
        "now": NOW,
        **overrides,
    }
    return [
        (flag.name, flag.flag, flag.followed_by.gate if flag.followed_by else None)
        for flag in pairing_flags(user, **arguments).flags
    ]


def test_night_shift_is_no_flag_while_forgotten_exit_and_second_entry_are(site) -> None:
    assert listed(site["hr"]) == [
        ("Quên Ra", "exit_missing", None),
        ("Vào Hai Lần", "second_entry", "G2 · Cổng phụ"),
    ]


def test_entry_still_inside_its_shift_is_not_flagged_yet(site) -> None:
    # Quên Ra entered at 08:00: the shift ends at 20:00; the second entry is a flag already.
    assert listed(site["hr"], now=local(DAY, "19:59")) == [
        ("Vào Hai Lần", "second_entry", "G2 · Cổng phụ")
    ]
    assert ("Quên Ra", "exit_missing", None) in listed(site["hr"], now=local(DAY, "20:00"))


def test_flags_are_those_of_events_inside_the_days_chosen(site) -> None:
    both = [("Quên Ra", "exit_missing", None), ("Vào Hai Lần", "second_entry", "G2 · Cổng phụ")]
    assert listed(site["hr"], day_from=DAY, day_to=DAY) == both
    assert listed(site["hr"], day_from=DAY + timedelta(days=1)) == []
    assert (
        listed(site["hr"], day_from=DAY - timedelta(days=1), day_to=DAY - timedelta(days=1)) == []
    )


def test_resolving_hides_the_flag_keeps_the_event_and_is_audited(site) -> None:
    hr, event = site["hr"], site["forgotten"]
    before = db.session.execute(select(GateEvent.__table__)).all()
    resolve_flag(hr, event, "exit_missing", "  Quên quẹt thẻ khi về ", shift=SHIFT, now=NOW)
    assert listed(hr) == [("Vào Hai Lần", "second_entry", "G2 · Cổng phụ")]
    assert ("Quên Ra", "exit_missing", None) in listed(hr, include_resolved=True)
    assert db.session.execute(select(GateEvent.__table__)).all() == before
    resolution = db.session.scalar(select(PairingResolution))
    assert (resolution.note, resolution.resolved_by_id) == ("Quên quẹt thẻ khi về", hr.id)
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "pairing_flag.resolved"))
    assert (audit.user_id, audit.target_id) == (hr.id, str(event.id))
    assert audit.details == {"flag": "exit_missing", "note": "Quên quẹt thẻ khi về"}


def test_a_flag_the_event_does_not_carry_or_resolved_twice_is_refused(site) -> None:
    hr, event = site["hr"], site["forgotten"]
    with pytest.raises(PairingError):
        resolve_flag(hr, event, "second_entry", "", shift=SHIFT, now=NOW)
    resolve_flag(hr, event, "exit_missing", "", shift=SHIFT, now=NOW)
    with pytest.raises(PairingError):
        resolve_flag(hr, event, "exit_missing", "", shift=SHIFT, now=NOW)
    assert db.session.scalar(select(func.count(PairingResolution.id))) == 1
    assert db.session.scalar(select(func.count(AuditLog.id))) == 1


def test_reopening_brings_the_flag_back_and_both_steps_are_audited(site) -> None:
    hr, event = site["hr"], site["forgotten"]
    resolve_flag(hr, event, "exit_missing", "Nhầm người", shift=SHIFT, now=NOW)
    reopen_flag(hr, event, "exit_missing", now=NOW + timedelta(minutes=5))
    assert ("Quên Ra", "exit_missing", None) in listed(hr)
    assert db.session.scalar(select(func.count(PairingResolution.id))) == 0
    actions = db.session.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
    assert actions == ["pairing_flag.resolved", "pairing_flag.reopened"]
    reopened = db.session.scalar(select(AuditLog).where(AuditLog.action == "pairing_flag.reopened"))
    assert reopened.details["note"] == "Nhầm người"
    assert reopened.details["resolved_by_id"] == hr.id
    # Reopened, it can be resolved again with a better note.
    resolve_flag(hr, event, "exit_missing", "Về qua cổng phụ", shift=SHIFT, now=NOW)
    assert db.session.scalar(select(PairingResolution.note)) == "Về qua cổng phụ"


def test_reopening_a_flag_that_is_not_resolved_is_refused(site) -> None:
    with pytest.raises(PairingError):
        reopen_flag(site["hr"], site["forgotten"], "exit_missing", now=NOW)
    assert db.session.scalar(select(func.count(AuditLog.id))) == 0


@pytest.fixture
def recent(app):
    """A site whose cases happened two local days ago, inside the page's default week."""
    enterprise = make_enterprise()
    gate = make_gate(enterprise, code="G1", name="Cổng chính")
    day = utcnow().astimezone(HANOI).date() - timedelta(days=2)
    night = make_worker(enterprise, full_name="Ca Đêm")
    make_event(gate, worker=night, occurred_at=local(day, "22:00"))
    make_event(gate, worker=night, direction="out", occurred_at=local(day + timedelta(1), "06:00"))
    forgot = make_worker(enterprise, full_name="Quên Ra")
    forgotten = make_event(gate, worker=forgot, occurred_at=local(day, "08:00"))
    twice = make_worker(enterprise, full_name="Vào Hai Lần")
    make_event(gate, worker=twice, occurred_at=local(day, "07:30"))
    make_event(gate, worker=twice, occurred_at=local(day, "09:00"))
    return {
        "enterprise": enterprise,
        "hr": make_user("hr", enterprise=enterprise),
        "forgotten": forgotten,
    }


def test_page_lists_the_last_week_in_vietnamese_and_resolves(client, recent) -> None:
    login(client, recent["hr"])
    page = client.get("/hr/pairing").get_data(as_text=True)
    assert "Quên Ra" in page
    assert "Vào Hai Lần" in page
    assert "Ca Đêm" not in page
    assert "Không có lượt ra trong thời gian ở tối đa" in page
    assert "Vào lần nữa khi chưa có lượt ra" in page
    event_id = recent["forgotten"].id
    response = client.post(
        f"/hr/pairing/events/{event_id}/resolve?resolved=y",
        data={"flag": "exit_missing", "note": "Về qua cổng phụ"},
    )
    assert response.status_code == 302
    assert "resolved=y" in response.headers["Location"]
    page = client.get("/hr/pairing").get_data(as_text=True)
    assert "Quên Ra" not in page
    assert "Vào Hai Lần" in page
    shown = client.get("/hr/pairing?resolved=y").get_data(as_text=True)
    assert "Quên Ra" in shown
    assert "Về qua cổng phụ" in shown


def test_page_in_english_and_with_a_bad_range(client, recent) -> None:
    login(client, recent["hr"])
    client.post("/auth/language/en", data={"next": "/hr/pairing"})
    page = client.get("/hr/pairing").get_data(as_text=True)
    assert "Entered again without an exit" in page
    response = client.get("/hr/pairing?day_from=2026-03-10&day_to=2026-03-01")
    assert response.status_code == 200
    assert "The end date is before the start date." in response.get_data(as_text=True)
    response = client.get("/hr/pairing?day_from=2026-01-01&day_to=2026-03-01")
    assert "Choose at most 31 days." in response.get_data(as_text=True)


def test_bad_flag_is_refused_with_a_message_and_stores_nothing(client, recent) -> None:
    login(client, recent["hr"])
    response = client.post(
        f"/hr/pairing/events/{recent['forgotten'].id}/resolve",
        data={"flag": "nonsense"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Không thể xử lý cảnh báo này" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PairingResolution.id))) == 0


def test_another_enterprises_event_gives_404_and_changes_nothing(client, recent) -> None:
    other = make_enterprise()
    login(client, make_user("hr", enterprise=other))
    response = client.post(
        f"/hr/pairing/events/{recent['forgotten'].id}/resolve",
        data={"flag": "exit_missing", "note": "x"},
    )
    assert response.status_code == 404
    assert db.session.scalar(select(func.count(PairingResolution.id))) == 0
    assert db.session.scalar(select(func.count(AuditLog.id))) == 0
    assert "Quên Ra" not in client.get("/hr/pairing").get_data(as_text=True)


def test_resolving_needs_the_csrf_token(client, app, csrf_enabled, recent) -> None:
    page = client.get("/auth/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post(
        "/auth/login",
        data={"username": recent["hr"].username, "password": PASSWORD, "csrf_token": token},
    )
    url = f"/hr/pairing/events/{recent['forgotten'].id}/resolve"
    response = client.post(url, data={"flag": "exit_missing"})
    assert response.status_code == 400
    assert "Biểu mẫu đã hết hạn hoặc bị gửi hai lần" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PairingResolution.id))) == 0
    # The same post with the page's token goes through: the token was all it lacked.
    page = client.get("/hr/pairing").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    done = client.post(url, data={"flag": "exit_missing", "csrf_token": token})
    assert done.status_code == 302
    assert db.session.scalar(select(func.count(PairingResolution.id))) == 1


def test_page_reopens_a_resolved_flag_and_refuses_a_bad_one(client, recent) -> None:
    login(client, recent["hr"])
    event_id = recent["forgotten"].id
    client.post(f"/hr/pairing/events/{event_id}/resolve", data={"flag": "exit_missing"})
    shown = client.get("/hr/pairing?resolved=y").get_data(as_text=True)
    assert f"/hr/pairing/events/{event_id}/reopen" in shown
    assert "Mở lại" in shown
    response = client.post(
        f"/hr/pairing/events/{event_id}/reopen?resolved=y",
        data={"flag": "exit_missing"},
        follow_redirects=True,
    )
    assert "Đã mở lại cảnh báo" in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count(PairingResolution.id))) == 0
    again = client.post(
        f"/hr/pairing/events/{event_id}/reopen",
        data={"flag": "exit_missing"},
        follow_redirects=True,
    )
    assert "Cảnh báo này chưa được xử lý." in again.get_data(as_text=True)
    bad = client.post(
        f"/hr/pairing/events/{event_id}/reopen", data={"flag": "nonsense"}, follow_redirects=True
    )
    assert "Không thể mở lại cảnh báo này" in bad.get_data(as_text=True)


def test_another_enterprise_cannot_reopen(client, recent) -> None:
    hr, event = recent["hr"], recent["forgotten"]
    resolve_flag(hr, event, "exit_missing", "", shift=timedelta(hours=12), now=utcnow())
    login(client, make_user("hr", enterprise=make_enterprise()))
    response = client.post(f"/hr/pairing/events/{event.id}/reopen", data={"flag": "exit_missing"})
    assert response.status_code == 404
    assert db.session.scalar(select(func.count(PairingResolution.id))) == 1
