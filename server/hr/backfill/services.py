"""Backfilling a gate's paper log after an outage: plan line by line, then commit at once.

A paper line becomes a gate record with method "paper", no device and a fresh id, unless the
tablets (or an earlier backfill) already recorded the same person passing the same way within
the tolerance: then it is a duplicate of that event and adds nothing. Planning writes nothing;
committing plans again and hands every line to the sync engine in one transaction, so what it
writes is checked against the log as it is then, stores every line it adds or none, and keeps
the refused lines in quarantine with their cells and reasons.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from server.access import scoped
from server.audit import record_audit
from server.extensions import db
from server.hr.roster.normalise import DATE_FORMATS, text
from server.models.org import Gate, User
from server.models.people import Worker
from server.sync_store import SqlSyncStore
from server.text import fold
from sync.engine import (
    PAPER,
    TIME_RANGE,
    Delivery,
    Entry,
    Policy,
    Receipt,
    Refusal,
    Source,
    ingest,
)
from sync.store import Passage

METHOD = "paper"
DEFAULT_TOLERANCE_MINUTES = 10
MAX_TOLERANCE_MINUTES = 240
# The engine's reasons for refusing a line, as the plan words them (LINE_PROBLEMS).
_ENGINE_PROBLEMS = {"time_out_of_range": "too_old", "future_time": "future_time"}
_DIRECTIONS = {
    "in": "in",
    "vao": "in",
    "v": "in",
    "i": "in",
    "entry": "in",
    "out": "out",
    "ra": "out",
    "r": "out",
    "o": "out",
    "exit": "out",
}
# 7:30, 07:30:15, 7h30, 7g30, 7.30, 7h: how guards write a time on paper.
_TIME = re.compile(r"^(\d{1,2})\s*(?:[:hg.]\s*(\d{1,2})?)?\s*(?::\s*(\d{1,2}))?$")


@dataclass
class PlannedLine:
    """What one paper line does: "add", "duplicate" (of an event or an earlier line), "refused"."""

    line: int
    cells: dict[str, str]
    action: str = "add"
    problems: list[str] = field(default_factory=list)
    gate: Gate | None = None
    worker: Worker | None = None
    name: str = ""
    direction: str = ""
    occurred_at: datetime | None = None
    duplicate_of: Passage | None = None
    duplicate_line: int | None = None
    event_id: uuid.UUID | None = None

    @property
    def moment(self) -> datetime:
        """The time of a line that passed its checks."""
        if self.occurred_at is None:
            raise ValueError(f"line {self.line} has no time")
        return self.occurred_at

    @property
    def checked_gate(self) -> Gate:
        """The gate of a line that passed its checks."""
        if self.gate is None:
            raise ValueError(f"line {self.line} has no gate")
        return self.gate

    @property
    def subject(self) -> str:
        return self.worker.full_name if self.worker else self.name


@dataclass(frozen=True)
class Options:
    """What applies to every line: the tolerance, and the gate and day lines may leave out."""

    tolerance: timedelta
    gate_id: int | None = None
    day: date | None = None


@dataclass(frozen=True)
class Plan:
    lines: list[PlannedLine]

    def count(self, action: str) -> int:
        return sum(1 for line in self.lines if line.action == action)


def plan_backfill(
    actor: User,
    rows: Iterable[Mapping[str, Any]],
    options: Options,
    *,
    now: datetime,
    timezone: str,
) -> Plan:
    """What backfilling `rows` ({"line", "cells"}) would do now, line by line; writes nothing."""
    zone = ZoneInfo(timezone)
    gates = list(db.session.scalars(scoped(Gate, actor)))
    roster = _Roster(actor)
    store = SqlSyncStore(db.session)
    lines = [
        _check(roster, int(row["line"]), _cells(row.get("cells")), options, gates, now, zone)
        for row in rows
    ]
    kept: dict[tuple[str, str], list[PlannedLine]] = {}
    for line in lines:
        if line.action != "add":
            continue
        same_way = kept.setdefault(_passage_key(line), [])
        earlier = next((other for other in same_way if _near(line, other, options.tolerance)), None)
        if earlier is not None:
            line.action, line.duplicate_line = "duplicate", earlier.line
            continue
        found = _recorded(store, actor, line, options.tolerance)
        if found is not None:
            line.action, line.duplicate_of = "duplicate", found
            continue
        same_way.append(line)
    return Plan(lines)


def commit_backfill(
    actor: User,
    rows: Iterable[Mapping[str, Any]],
    options: Options,
    *,
    now: datetime,
    timezone: str,
    policy: Policy,
    ip: str = "",
    source: str = "",
) -> Plan:
    """Plan again and hand the lines to the engine: every "add" line stored and the refused ones
    quarantined, with the audit line, in one transaction."""
    plan = plan_backfill(actor, rows, options, now=now, timezone=timezone)
    zone = ZoneInfo(timezone)
    sent = [line for line in plan.lines if line.action in ("add", "refused")]
    entries = [_entry(line, zone) for line in sent]
    if actor.enterprise_id is None:
        raise ValueError("only HR of an enterprise backfills its gates")

    def audit(receipts: list[Receipt]) -> None:
        [receipt] = receipts
        for line, ack in zip(sent, receipt.acks, strict=True):
            if line.action == "add" and ack["status"] == "rejected":
                line.action = "refused"
                line.problems.append(_ENGINE_PROBLEMS.get(ack["reason"], "bad_time"))
        added = [line for line in plan.lines if line.action == "add"]
        record_audit(
            actor,
            "gate_event.backfilled",
            now=now,
            target_type="gate_event",
            enterprise_id=actor.enterprise_id,
            ip=ip,
            details={
                "source": source[:200],
                "tolerance_minutes": options.tolerance.total_seconds() / 60,
                "added": len(added),
                "duplicate": plan.count("duplicate"),
                "refused": plan.count("refused"),
                "event_ids": [str(line.event_id) for line in added],
            },
        )

    ingest(
        SqlSyncStore(db.session),
        Source(PAPER, actor.enterprise_id),
        policy,
        # Paper has no clock of its own: its times are as HR read them, never corrected.
        [Delivery(entries, now)],
        now,
        finish=audit,
    )
    return plan


def _cells(raw: Any) -> dict[str, str]:
    if not isinstance(raw, Mapping):
        return {}
    return {str(key): text(str(value))[:300] for key, value in raw.items() if value is not None}


def _check(
    roster: _Roster,
    number: int,
    cells: dict[str, str],
    options: Options,
    gates: list[Gate],
    now: datetime,
    zone: ZoneInfo,
) -> PlannedLine:
    line = PlannedLine(line=number, cells=cells)
    line.gate = _gate(cells.get("gate", ""), options.gate_id, gates)
    if line.gate is None:
        line.problems.append("unknown_gate" if cells.get("gate") else "missing_gate")
    _person(roster, line)
    line.direction = _DIRECTIONS.get(fold(cells.get("direction", "")).strip(" ."), "")
    if not line.direction:
        line.problems.append("bad_direction")
    line.occurred_at = _moment(cells.get("date", ""), cells.get("time", ""), options.day, zone)
    if line.occurred_at is None:
        line.problems.append("bad_time")
    elif line.occurred_at > now:
        line.problems.append("future_time")
    elif now - line.occurred_at > TIME_RANGE:
        line.problems.append("too_old")
    if line.problems:
        line.action = "refused"
    return line


def _gate(cell: str, default_id: int | None, gates: list[Gate]) -> Gate | None:
    if not cell:
        return next((gate for gate in gates if gate.id == default_id), None)
    wanted = fold(cell)
    for gate in gates:
        if wanted in (fold(gate.code), fold(gate.name)):
            return gate
    return None


class _Roster:
    """The actor's workers by code and by folded name, each looked up once per plan."""

    def __init__(self, actor: User) -> None:
        self.actor = actor
        self.codes: dict[str, Worker | None] = {}
        self.names: dict[str, Worker | None] = {}

    def by_code(self, code: str) -> Worker | None:
        code = code.upper()
        if code not in self.codes:
            query = scoped(Worker, self.actor).where(Worker.employee_code == code)
            self.codes[code] = db.session.scalar(query)
        return self.codes[code]

    def by_name(self, name: str) -> Worker | None:
        """The one worker of that name; None when there is none, or more than one."""
        key = fold(name)
        if key not in self.names:
            query = scoped(Worker, self.actor).where(Worker.search_name == key).limit(2)
            found = db.session.scalars(query).all()
            self.names[key] = found[0] if len(found) == 1 else None
        return self.names[key]


def _person(roster: _Roster, line: PlannedLine) -> None:
    """The worker named by code (or by a name only one worker has), else the name as written."""
    code, name = line.cells.get("code", ""), line.cells.get("name", "")
    typed = line.cells.get("person", "")
    if typed:
        # The entry form has one box: an employee code of the roster, else a name.
        line.worker = roster.by_code(typed)
        if line.worker is not None:
            return
        name = typed
    if code:
        line.worker = roster.by_code(code)
        if line.worker is None:
            line.problems.append("unknown_code")
        return
    if not name:
        line.problems.append("missing_person")
        return
    if len(name) > 200:
        line.problems.append("too_long")
        return
    line.worker = roster.by_name(name)
    line.name = name


def _moment(
    day_cell: str, time_cell: str, default_day: date | None, zone: ZoneInfo
) -> datetime | None:
    """A local date and time, as typed or as a spreadsheet gave them, in UTC."""
    day_text, time_text = day_cell.strip(), time_cell.strip()
    # A spreadsheet datetime cell reads "2026-11-20 07:30:00" in either column.
    for combined in (time_text, day_text):
        try:
            moment = datetime.fromisoformat(combined)
        except ValueError:
            continue
        if " " in combined or "T" in combined:
            return moment.replace(tzinfo=zone) if moment.tzinfo is None else moment
    day = _day(day_text) if day_text else default_day
    clock = _clock(time_text)
    if day is None or clock is None:
        return None
    return datetime.combine(day, clock, tzinfo=zone)


def _day(value: str) -> date | None:
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    return None


def _clock(value: str) -> time | None:
    match = _TIME.match(fold(value))
    if match is None:
        return None
    hour, minute, second = (int(part) if part else 0 for part in match.groups())
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _passage_key(line: PlannedLine) -> tuple[str, str]:
    """Who passed which way: lines with one key may be one passage written twice."""
    person = f"worker:{line.worker.id}" if line.worker else f"text:{line.name}"
    return person, line.direction


def _near(line: PlannedLine, other: PlannedLine, tolerance: timedelta) -> bool:
    return abs(line.moment - other.moment) <= tolerance


def _recorded(
    store: SqlSyncStore, actor: User, line: PlannedLine, tolerance: timedelta
) -> Passage | None:
    """The recorded event of this person, this way, nearest in time within the tolerance."""
    if actor.enterprise_id is None:
        return None
    subject = ("worker", str(line.worker.id)) if line.worker else ("text", line.name)
    moment = line.moment
    candidates = store.passages(
        actor.enterprise_id, subject, line.direction, moment - tolerance, moment + tolerance
    )
    return min(candidates, key=lambda event: abs(event.occurred_at - moment), default=None)


def _entry(line: PlannedLine, zone: ZoneInfo) -> Entry:
    """A paper line as the engine takes it: the event it records, or why it was refused."""
    raw = {"line": line.line, "cells": line.cells}
    if line.action == "refused":
        return Entry(raw, refusal=Refusal(line.problems[0], line.problems))
    gate = line.checked_gate
    line.event_id = uuid.uuid4()
    kind, value = ("worker", str(line.worker.id)) if line.worker else ("text", line.name)
    note = line.cells.get("note") or None
    event = {
        "id": str(line.event_id),
        "seq": 0,
        # In the gate's zone, as the paper gave it: the offset is kept as the device's would be.
        "occurred_at": line.moment.astimezone(zone),
        "gate_id": gate.id,
        "direction": line.direction,
        "subject": {"kind": kind, "value": value},
        "method": METHOD,
        "note": note[:500] if note else None,
        "visitor": None,
    }
    return Entry(raw, event)
