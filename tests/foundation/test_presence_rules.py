"""The interval-building rules, one row per case: events in, intervals out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.presence import (
    Interval,
    Passage,
    anomalies,
    clip,
    overlap_seconds,
    overlaps,
    presence_intervals,
)

SHIFT = timedelta(hours=8)
NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)


def t(hhmm: str, day: int = 1) -> datetime:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    return datetime(2026, 3, day, hours, minutes, tzinfo=UTC)


def passages(*items: str) -> list[Passage]:
    """`"in 08:00 A"` → a Passage at gate A."""
    result = []
    for number, item in enumerate(items):
        direction, at, gate = item.split()
        hhmm, _plus, days_later = at.partition("+")
        result.append(Passage(t(hhmm, 1 + int(days_later or 0)), direction, gate, f"e{number:02d}"))
    return result


def spans(intervals: list[Interval]) -> list[tuple[str, str, str]]:
    return [(i.start.strftime("%H:%M"), i.end.strftime("%H:%M"), i.flag) for i in intervals]


CASES = [
    ("pair", ["in 08:00 A", "out 12:00 B"], [("08:00", "12:00", "")]),
    (
        "two pairs",
        ["in 08:00 A", "out 12:00 A", "in 13:00 A", "out 17:00 A"],
        [("08:00", "12:00", ""), ("13:00", "17:00", "")],
    ),
    (
        "arrived out of order",
        ["out 17:00 A", "in 13:00 A", "out 12:00 A", "in 08:00 A"],
        [("08:00", "12:00", ""), ("13:00", "17:00", "")],
    ),
    ("exit never came", ["in 08:00 A"], [("08:00", "16:00", "exit_missing")]),
    (
        "second entry closes the forgotten exit",
        ["in 08:00 A", "in 10:00 A", "out 11:00 A"],
        [("08:00", "10:00", "second_entry"), ("10:00", "11:00", "")],
    ),
    (
        "forgotten exit closed at shift before next entry",
        ["in 01:00 A", "in 12:00 A", "out 13:00 A"],
        [("01:00", "09:00", "exit_missing"), ("12:00", "13:00", "")],
    ),
    ("forgotten entry", ["out 12:00 A"], [("04:00", "12:00", "entry_missing")]),
    (
        "forgotten entry after a visit",
        ["in 08:00 A", "out 09:00 A", "out 12:00 A"],
        [("08:00", "09:00", ""), ("09:00", "12:00", "entry_missing")],
    ),
    (
        "exit longer than a shift after entry",
        ["in 01:00 A", "out 11:00 A"],
        [("01:00", "09:00", "exit_missing"), ("09:00", "11:00", "entry_missing")],
    ),
    (
        "double scan at the exit",
        ["in 08:00 A", "out 12:00 A", "out 12:00 A"],
        [("08:00", "12:00", "")],
    ),
    (
        "night shift across midnight",
        ["in 22:00 A", "out 06:00+1 A"],
        [("22:00", "06:00", "")],
    ),
    (
        "second entry at exactly the shift length",
        ["in 08:00 A", "in 16:00 A", "out 17:00 A"],
        [("08:00", "16:00", "second_entry"), ("16:00", "17:00", "")],
    ),
    (
        "double scan at the entry",
        ["in 08:00 A", "in 08:00 A", "out 12:00 A"],
        [("08:00", "12:00", "")],
    ),
    ("nothing", [], []),
]


@pytest.mark.parametrize(("events", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_presence_intervals_follow_the_rules(events: list[str], expected: list[tuple]) -> None:
    assert spans(presence_intervals(passages(*events), shift=SHIFT, now=NOW)) == expected


ANOMALY_CASES = [
    ("pairs are no anomaly", ["in 08:00 A", "out 12:00 B"], NOW, []),
    ("night shift across midnight", ["in 22:00 A", "out 06:00+1 A"], NOW, []),
    ("forgotten exit, shift over", ["in 08:00 A"], NOW, [("exit_missing", "e00", None)]),
    ("entry within its shift is none yet", ["in 08:00 A"], t("15:59"), []),
    ("entry whose shift just ended", ["in 08:00 A"], t("16:00"), [("exit_missing", "e00", None)]),
    (
        "second entry names both entries",
        ["in 08:00 A", "in 10:00 B", "out 11:00 B"],
        NOW,
        [("second_entry", "e00", "e01")],
    ),
    (
        "exit a shift late: both sides unmatched",
        ["in 01:00 A", "out 11:00 A"],
        NOW,
        [("exit_missing", "e00", None), ("entry_missing", "e01", None)],
    ),
    ("forgotten entry", ["out 12:00 A"], NOW, [("entry_missing", "e00", None)]),
    ("double scan at the exit", ["in 08:00 A", "out 12:00 A", "out 12:00 A"], NOW, []),
]


@pytest.mark.parametrize(
    ("events", "now", "expected"), [c[1:] for c in ANOMALY_CASES], ids=[c[0] for c in ANOMALY_CASES]
)
def test_anomalies_name_the_unmatched_passage(
    events: list[str], now: datetime, expected: list[tuple]
) -> None:
    found = anomalies(passages(*events), shift=SHIFT, now=now)
    assert [
        (a.flag, a.passage.event_id, a.followed_by.event_id if a.followed_by else None)
        for a in found
    ] == expected


def test_open_interval_stops_at_now_while_the_person_may_still_be_inside() -> None:
    result = presence_intervals(passages("in 08:00 A"), shift=SHIFT, now=t("10:30"))
    assert spans(result) == [("08:00", "10:30", "exit_missing")]


def test_gates_of_entry_and_exit_are_kept() -> None:
    (interval,) = presence_intervals(passages("in 08:00 A", "out 12:00 B"), shift=SHIFT, now=NOW)
    assert (interval.gate_in, interval.gate_out) == ("A", "B")


def test_clip_keeps_only_the_window() -> None:
    result = clip(
        presence_intervals(passages("in 08:00 A", "out 12:00 A"), shift=SHIFT, now=NOW),
        t("10:00"),
        t("11:00"),
    )
    assert spans(result) == [("10:00", "11:00", "")]


OVERLAP_CASES = [
    ("partial", ["in 08:00 A", "out 12:00 A"], ["in 11:00 A", "out 15:00 A"], 60),
    ("inside", ["in 08:00 A", "out 12:00 A"], ["in 09:00 A", "out 09:17 A"], 17),
    ("disjoint", ["in 08:00 A", "out 12:00 A"], ["in 12:00 A", "out 15:00 A"], 0),
    (
        "two stretches",
        ["in 08:00 A", "out 10:00 A", "in 11:00 A", "out 12:00 A"],
        ["in 09:00 A", "out 11:30 A"],
        90,
    ),
    ("their exit never came", ["in 08:00 A", "out 18:00 A"], ["in 15:00 A"], 180),
]


@pytest.mark.parametrize(
    ("mine", "theirs", "minutes"), [c[1:] for c in OVERLAP_CASES], ids=[c[0] for c in OVERLAP_CASES]
)
def test_overlap_minutes(mine: list[str], theirs: list[str], minutes: int) -> None:
    found = overlaps(
        presence_intervals(passages(*mine), shift=SHIFT, now=NOW),
        presence_intervals(passages(*theirs), shift=SHIFT, now=NOW),
    )
    assert overlap_seconds(found) == minutes * 60
