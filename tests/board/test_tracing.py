"""Contact tracing to the minute: pairs, a missing exit, events that arrived out of order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.board import tracing
from server.models import AuditLog, GateEvent
from server.presence import clip, overlap_seconds, overlaps, passage, presence_intervals
from tests.factories import (
    login,
    make_enterprise,
    make_event,
    make_gate,
    make_user,
    make_visitor_pass,
    make_worker,
    make_zone,
)

DAY = datetime(2026, 3, 9, tzinfo=UTC)
SHIFT = timedelta(hours=12)


def at(hhmm: str) -> datetime:
    hours, minutes = (int(p) for p in hhmm.split(":"))
    return DAY + timedelta(hours=hours, minutes=minutes)


@pytest.fixture
def case(app: Flask):  # type: ignore[no-untyped-def]
    zone = make_zone()
    ent = make_enterprise(zone_id=zone.id)
    elsewhere = make_enterprise(zone_id=zone.id)
    front, back = (
        make_gate(ent, code="A", name="Cổng chính"),
        make_gate(ent, code="B", name="Cổng sau"),
    )
    index = make_worker(ent, full_name="Ca Bệnh")
    late, open_ended, before, other_site = (
        make_worker(ent, full_name="Đến Muộn"),
        make_worker(ent, full_name="Quên Ra"),
        make_worker(ent, full_name="Về Sớm"),
        make_worker(elsewhere, full_name="Nơi Khác"),
    )
    visitor_pass = make_visitor_pass(ent, full_name="Khách Hàng", now=at("11:00"))

    def event(person, direction, hhmm, gate=front, received=None, **extra):  # type: ignore[no-untyped-def]
        kwargs = {"worker": person} if person is not None else {}
        return make_event(
            gate,
            direction=direction,
            occurred_at=at(hhmm),
            received_at=received or at(hhmm),
            **kwargs,
            **extra,
        )

    event(index, "in", "08:00")
    event(index, "out", "12:00", gate=back)
    # Sent late: the exit reached the server before the entry.
    event(late, "out", "15:00", received=at("15:01"))
    event(late, "in", "11:00", gate=back, received=at("16:30"))
    event(open_ended, "in", "09:00")  # the exit never came: closed after the 12-hour shift
    event(before, "in", "06:00")
    event(before, "out", "08:00")  # touches the index's entry: zero minutes
    make_event(
        front,
        direction="in",
        occurred_at=at("11:30"),
        visitor_pass=visitor_pass,
    )
    make_event(
        front,
        direction="out",
        occurred_at=at("11:47"),
        visitor_pass=visitor_pass,
    )
    other_gate = make_gate(elsewhere)
    make_event(other_gate, worker=other_site, direction="in", occurred_at=at("08:00"))
    make_event(other_gate, worker=other_site, direction="out", occurred_at=at("12:00"))
    return {
        "zone": zone,
        "ent": ent,
        "index": index,
        "visitor": visitor_pass.visitor,
        "elsewhere": elsewhere,
    }


def test_contacts_sorted_by_overlap_to_the_minute(case) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("admin")
    result = tracing.trace(
        admin,
        case["index"],
        start=at("00:00"),
        end=at("23:59"),
        shift=SHIFT,
        now=DAY + timedelta(days=2),
    )
    assert [(c.name, c.minutes) for c in result.contacts] == [
        ("Quên Ra", 180),
        ("Đến Muộn", 60),
        ("Khách Hàng", 17),
    ]
    late = result.contacts[1]
    assert (late.first_at, late.last_at) == (at("11:00"), at("12:00"))
    assert late.gates == ["A · Cổng chính", "B · Cổng sau"]
    assert result.contacts[0].stretches == [(at("09:00"), at("12:00"), "exit_missing")]
    assert [(i.start, i.end) for _gate, i in result.intervals] == [(at("08:00"), at("12:00"))]


def test_a_limited_trace_names_the_longest_and_counts_everyone(case) -> None:  # type: ignore[no-untyped-def]
    result = tracing.trace(
        make_user("admin"),
        case["index"],
        start=at("00:00"),
        end=at("23:59"),
        shift=SHIFT,
        now=DAY + timedelta(days=2),
        limit=2,
    )
    assert [(c.name, c.minutes) for c in result.contacts] == [("Quên Ra", 180), ("Đến Muộn", 60)]
    assert result.total == 3


def test_window_clips_the_overlap(case) -> None:  # type: ignore[no-untyped-def]
    result = tracing.trace(
        make_user("admin"),
        case["index"],
        start=at("11:40"),
        end=at("23:00"),
        shift=SHIFT,
        now=DAY + timedelta(days=2),
    )
    assert [(c.name, c.minutes) for c in result.contacts] == [
        ("Quên Ra", 20),
        ("Đến Muộn", 20),
        ("Khách Hàng", 7),
    ]


def test_trace_from_a_visitor(case) -> None:  # type: ignore[no-untyped-def]
    result = tracing.trace(
        make_user("admin"),
        case["visitor"],
        start=at("00:00"),
        end=at("23:59"),
        shift=SHIFT,
        now=DAY + timedelta(days=2),
    )
    assert [(c.name, c.minutes) for c in result.contacts] == [
        ("Ca Bệnh", 17),
        ("Quên Ra", 17),
        ("Đến Muộn", 17),
    ]


def test_trace_is_audited_and_exportable(client, case) -> None:  # type: ignore[no-untyped-def]
    inspector = make_user("inspector", zones=(case["zone"],))
    login(client, inspector)
    url = f"/board/tracing/workers/{case['index'].id}?start=2026-03-09T07:00&end=2026-03-10T06:59"
    page = client.get(url)
    assert page.status_code == 200
    assert "Quên Ra" in page.get_data(as_text=True)
    export = client.get(url + "&format=csv", buffered=True)
    lines = export.get_data(as_text=True).splitlines()
    assert "Quên Ra" in lines[1]
    assert ",180," in lines[1]
    entries = AuditLog.query.filter_by(action="board.contact_tracing").all()
    assert len(entries) == 2
    assert entries[0].user_id == inspector.id
    assert entries[0].target_id == str(case["index"].id)


def test_trace_form_refuses_a_reversed_window(client, case) -> None:  # type: ignore[no-untyped-def]
    login(client, make_user("admin"))
    page = client.get(
        f"/board/tracing/workers/{case['index'].id}?start=2026-03-09T10:00&end=2026-03-09T09:00"
    )
    assert page.status_code == 200
    assert AuditLog.query.count() == 0


def test_search_finds_people_without_diacritics(client, case) -> None:  # type: ignore[no-untyped-def]
    login(client, make_user("admin"))
    html = client.get("/board/tracing?q=quen ra").get_data(as_text=True)
    assert "Quên Ra" in html


# Whole half-hours give ties and stays exactly a shift long; half a second probes SQLite's bound.
DRAWN_PASSAGES = st.lists(
    st.tuples(
        st.integers(0, 3),  # whose: two workers, an unknown person, the index case
        st.integers(-40, 90),
        st.sampled_from((timedelta(0), timedelta(milliseconds=500))),
        st.sampled_from(("in", "out")),
    ),
    max_size=14,
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(drawn=DRAWN_PASSAGES)
def test_contacts_are_what_the_rules_give_for_every_event(app: Flask, drawn) -> None:  # type: ignore[no-untyped-def]
    """Stays paired in SQL for people whose passages all pair, the rules in Python for the rest:
    the same contacts as pairing every event of everyone in Python."""
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    people = [make_worker(enterprise), make_worker(enterprise), None, make_worker(enterprise)]
    index = people[3]
    make_event(gate, worker=index, occurred_at=DAY + timedelta(hours=8))
    make_event(gate, worker=index, direction="out", occurred_at=DAY + timedelta(hours=17))
    for whose, half_hours, nudge, direction in drawn:
        make_event(
            gate,
            worker=people[whose],
            direction=direction,
            occurred_at=DAY + half_hours * timedelta(minutes=30) + nudge,
        )
    start, end, now = DAY, DAY + timedelta(days=1), DAY + timedelta(hours=20)
    result = tracing.trace(make_user("admin"), index, start=start, end=end, shift=SHIFT, now=now)
    events = GateEvent.query.filter(GateEvent.enterprise_id == enterprise.id).all()
    read = [e for e in events if start - SHIFT <= e.corrected_at < end + SHIFT]
    mine = clip(
        presence_intervals(
            [passage(e) for e in read if e.worker_id == index.id], shift=SHIFT, now=now
        ),
        start,
        end,
    )
    if not mine:
        assert result.contacts == []
        return
    low, high = mine[0].start, max(i.end for i in mine)
    expected = []
    for person in people[:3]:
        theirs = [
            passage(e)
            for e in events
            if e.worker_id == (person.id if person else None)
            and low - SHIFT <= e.corrected_at < high + SHIFT
        ]
        seconds = overlap_seconds(overlaps(mine, presence_intervals(theirs, shift=SHIFT, now=now)))
        if seconds > 0:
            expected.append((person.full_name if person else "Khách lạ", int(seconds // 60)))
    assert sorted((c.name, c.minutes) for c in result.contacts) == sorted(expected)
