"""Presence intervals from gate events, and their overlaps: pure, no database, no Flask.

The rules, in the order events happened (event time, never arrival time, since tablets send late
and out of order; ties broken by the event id so every run agrees):

1. `in` opens an interval.
2. `out` closes the open interval, if it is at most one shift long.
3. An interval left open is closed one shift after it opened, at the next `in` if that comes
   sooner, and never later than `now` (the person may still be inside); it is flagged
   `exit_missing`.
4. An `out` with nothing open (a forgotten entry, or an exit a whole shift after the entry)
   stands for the shift before it, from no earlier than the end of the previous interval; it is
   flagged `entry_missing`.
5. Empty intervals are dropped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Passage:
    """One entry or exit of one person."""

    at: datetime
    direction: str
    gate: str
    event_id: str = ""


@dataclass(frozen=True, slots=True)
class Interval:
    start: datetime
    end: datetime
    gate_in: str | None
    gate_out: str | None
    flag: str = ""  # "", "exit_missing" or "entry_missing"


@dataclass(frozen=True, slots=True)
class Overlap:
    start: datetime
    end: datetime
    theirs: Interval

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def presence_intervals(
    passages: Iterable[Passage], *, shift: timedelta, now: datetime
) -> list[Interval]:
    """The intervals a person was on site, by the rules above, in time order."""
    intervals: list[Interval] = []
    open_at: Passage | None = None
    last_end: datetime | None = None

    def close(opened: Passage, end: datetime, gate_out: str | None, flag: str) -> None:
        nonlocal open_at, last_end
        if end > opened.at:
            intervals.append(Interval(opened.at, end, opened.gate, gate_out, flag))
            last_end = end
        open_at = None

    for passage in sorted(passages, key=lambda p: (p.at, p.event_id)):
        if open_at is not None:
            limit = open_at.at + shift
            if passage.direction == "out" and passage.at <= limit:
                close(open_at, passage.at, passage.gate, "")
                continue
            close(open_at, min(limit, passage.at), None, "exit_missing")
        if passage.direction == "in":
            open_at = passage
            continue
        start = passage.at - shift
        if last_end is not None and last_end > start:
            start = last_end
        if passage.at > start:
            intervals.append(Interval(start, passage.at, None, passage.gate, "entry_missing"))
            last_end = passage.at
    if open_at is not None:
        close(open_at, min(open_at.at + shift, max(now, open_at.at)), None, "exit_missing")
    return intervals


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The parts of `intervals` inside [start, end)."""
    clipped = []
    for item in intervals:
        low, high = max(item.start, start), min(item.end, end)
        if high > low:
            clipped.append(Interval(low, high, item.gate_in, item.gate_out, item.flag))
    return clipped


def overlaps(mine: Sequence[Interval], theirs: Sequence[Interval]) -> list[Overlap]:
    """Every stretch of time where one of `mine` and one of `theirs` both hold."""
    found = []
    for their in theirs:
        for my in mine:
            low, high = max(my.start, their.start), min(my.end, their.end)
            if high > low:
                found.append(Overlap(low, high, their))
    return found


def overlap_seconds(found: Iterable[Overlap]) -> float:
    """Total time covered by `found`, counting a moment once even where overlaps touch it twice."""
    total = 0.0
    cursor: datetime | None = None
    for item in sorted(found, key=lambda o: o.start):
        start = item.start if cursor is None or item.start > cursor else cursor
        if item.end > start:
            total += (item.end - start).total_seconds()
            cursor = item.end
    return total
