"""Contact tracing to the minute: pairs, a missing exit, events that arrived out of order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from server.board import tracing
from server.models import AuditLog, GateEvent, VisitorPass, Worker
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
# Most draws are stays, an entry and its exit, so that many people pair every passage.
DRAWN_STAYS = st.lists(
    st.tuples(
        # whose: two workers of one name, a visitor, two unknown people, the index case, and a
        # worker of the other enterprise
        st.integers(0, 6),
        st.integers(0, 2),  # where: the enterprise's two gates, the other enterprise's gate
        st.integers(-40, 90),  # entry, in half-hours from midnight
        st.integers(0, 30),  # length in half-hours: up to more than a shift
        st.sampled_from((timedelta(0), timedelta(milliseconds=500))),
        st.sampled_from(("in", "out", "stay", "stay", "stay")),
    ),
    max_size=14,
)


def _key(event: GateEvent) -> tuple[str, str]:
    if event.worker_id is not None:
        return ("worker", str(event.worker_id))
    if event.visitor_id is not None:
        return ("visitor", str(event.visitor_id))
    return ("unresolved", event.subject_value)


def _every_contact(
    traced: tuple[str, str],
    names: dict[tuple[str, str], str],
    start: datetime,
    end: datetime,
    now: datetime,
) -> list[tuple[Any, ...]]:
    """Contacts by the plain definition: every event of everyone paired in Python, in the
    page's order (longest, earliest, name, kind, id)."""
    events = GateEvent.query.all()
    found = []
    for enterprise_id in {e.enterprise_id for e in events}:
        here = [e for e in events if e.enterprise_id == enterprise_id]
        own = [
            e for e in here if _key(e) == traced and start - SHIFT <= e.corrected_at < end + SHIFT
        ]
        mine = clip(presence_intervals(map(passage, own), shift=SHIFT, now=now), start, end)
        if not mine:
            continue
        low, high = mine[0].start, max(i.end for i in mine)
        for person in {_key(e) for e in here} - {traced}:
            theirs = [
                passage(e)
                for e in here
                if _key(e) == person and low - SHIFT <= e.corrected_at < high + SHIFT
            ]
            stretches = overlaps(mine, presence_intervals(theirs, shift=SHIFT, now=now))
            seconds = overlap_seconds(stretches)
            if seconds > 0:
                kind, ident = person
                found.append(
                    (
                        -int(seconds // 60),
                        min(s.start for s in stretches),
                        names.get(person, ident),
                        kind,
                        int(ident) if kind != "unresolved" else 0,
                        max(s.end for s in stretches),
                        tracing._joined(stretches),
                    )
                )
    return sorted(found)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# A stay that ends as the index case comes in: no contact, however SQL adds it up.
@example(
    drawn=[(0, 0, 8, 8, timedelta(0), "stay")],
    window=(0, 48),
    now_hours=40,
    limit=None,
    trace_the_visitor=False,
)
# Namesakes tied for the longest overlap: the one the page shows is the same as in Python.
@example(
    drawn=[(0, 0, 14, 8, timedelta(0), "stay"), (1, 1, 14, 8, timedelta(0), "stay")],
    window=(0, 48),
    now_hours=40,
    limit=1,
    trace_the_visitor=False,
)
# One entry and one exit, exactly a shift apart and half a second more: SQL groups the first as
# a single stay; the second, like an entry and an exit at the same moment or an exit before a
# stay, goes to the rules.
@example(
    drawn=[
        (0, 0, 14, 24, timedelta(0), "stay"),
        (1, 1, 14, 24, timedelta(milliseconds=500), "stay"),
        (3, 0, 20, 0, timedelta(0), "in"),
        (3, 1, 20, 0, timedelta(0), "out"),
        # An exit before one entry and exit: three events, not a single stay.
        (2, 0, 18, 0, timedelta(0), "out"),
        (2, 0, 24, 4, timedelta(0), "stay"),
    ],
    window=(0, 48),
    now_hours=40,
    limit=None,
    trace_the_visitor=False,
)
# Namesakes tied, one with two stays (windowed), the other with one (grouped): the first shown
# is the same as in Python.
@example(
    drawn=[
        (0, 0, 16, 2, timedelta(0), "stay"),
        (0, 0, 20, 2, timedelta(0), "stay"),
        (1, 1, 16, 4, timedelta(0), "stay"),
    ],
    window=(0, 48),
    now_hours=40,
    limit=1,
    trace_the_visitor=False,
)
@given(
    drawn=DRAWN_STAYS,
    window=st.tuples(st.integers(-8, 40), st.integers(1, 48)),
    now_hours=st.integers(6, 40),
    limit=st.sampled_from((None, 1, 2, 3)),
    trace_the_visitor=st.booleans(),
)
def test_contacts_are_what_the_rules_give_for_every_event(  # type: ignore[no-untyped-def]
    app: Flask, drawn, window, now_hours, limit, trace_the_visitor
) -> None:
    """Stays added up and ranked in SQL for people whose passages all pair, the rules in Python
    for the rest: the same contacts, minutes, order and count as pairing every event of everyone
    in Python. Stays cross the window's edges; the index case may pass the other enterprise's
    gate, or have stays of its own that do not pair."""
    enterprise, other = make_enterprise(), make_enterprise()
    gates = [make_gate(enterprise), make_gate(enterprise), make_gate(other)]
    visitor_pass = make_visitor_pass(enterprise, full_name="Khách Hàng", now=DAY)
    index = make_worker(enterprise, full_name="Ca Bệnh")
    namesake = [make_worker(enterprise, full_name="Lê Trùng Tên") for _ in range(2)]
    people = [*namesake, visitor_pass, "Khách lạ", "Người lạ", index, make_worker(other)]
    make_event(gates[0], worker=index, occurred_at=DAY + timedelta(hours=8))
    make_event(gates[1], worker=index, direction="out", occurred_at=DAY + timedelta(hours=17))
    for whose, where, half_hours, length, nudge, shape in drawn:
        person = people[whose]
        by = (
            {"worker": person}
            if isinstance(person, Worker)
            else {"visitor_pass": person}
            if isinstance(person, VisitorPass)
            else {"subject_value": person}
        )
        entry = DAY + half_hours * timedelta(minutes=30)
        passages = {"in": [("in", entry)], "out": [("out", entry + nudge)]}.get(
            shape, [("in", entry), ("out", entry + length * timedelta(minutes=30) + nudge)]
        )
        for direction, moment in passages:
            make_event(gates[where], **by, direction=direction, occurred_at=moment)
    start = DAY + window[0] * timedelta(minutes=30)
    end = start + window[1] * timedelta(minutes=30)
    now = DAY + timedelta(hours=now_hours)
    subject = visitor_pass.visitor if trace_the_visitor else index
    traced = ("visitor", str(subject.id)) if trace_the_visitor else ("worker", str(subject.id))
    names = {("worker", str(w.id)): w.full_name for w in (*namesake, index, people[6])}
    names[("visitor", str(visitor_pass.visitor_id))] = "Khách Hàng"

    result = tracing.trace(
        make_user("admin"), subject, start=start, end=end, shift=SHIFT, now=now, limit=limit
    )

    expected = _every_contact(traced, names, start, end, now)
    assert result.total == len(expected)
    assert [
        (-c.minutes, c.first_at, c.name, c.kind, c.person_id or 0, c.last_at)
        for c in result.contacts
    ] == [contact[:-1] for contact in expected[:limit]]
    # The times together and their flags, as the rules give them, whichever way SQL found a stay.
    assert [c.stretches for c in result.contacts] == [contact[-1] for contact in expected[:limit]]
