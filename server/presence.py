"""Who is inside, and when: the one module that answers it, for every page and channel.

Everything here reasons in the world's time: an event's `corrected_at`, the device's time
corrected by the clock skew the server measured for that tablet. The device's own clock stays
on the event (`occurred_at`) for HR to see, but a tablet running two hours behind must not move
a person out of a contact list or into "gone home". Ties on the same corrected time are broken by
the event id, the same way on SQLite and PostgreSQL, so every run and both databases agree.

The interval rules, in the order events happened (tablets send late and out of order):

1. `in` opens an interval.
2. `out` closes the open interval, if it is at most one shift long.
3. An interval left open is closed one shift after it opened (flagged `exit_missing`), at the
   next `in` if that comes sooner (flagged `second_entry`), and never later than `now` (the
   person may still be inside). The closing time is a bound, never a recorded exit.
4. An `out` with nothing open (a forgotten entry, or an exit a whole shift after the entry)
   stands for the shift before it, from no earlier than the end of the previous interval; it is
   flagged `entry_missing`.
5. Empty intervals are dropped.

An anomaly is the passage such a flag hangs on: the `in` of an `exit_missing` or `second_entry`
interval, the `out` of an `entry_missing` one. An entry whose shift has not ended yet is none.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    Select,
    Subquery,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy import Interval as SqlInterval
from sqlalchemy import cast as sql_cast
from sqlalchemy.orm import aliased
from sqlalchemy.sql.util import ClauseAdapter

from server.access import scoped
from server.extensions import db
from server.models import (
    Gate,
    GateEvent,
    PersonLastPassage,
    User,
    UTCDateTime,
    Visitor,
    VisitorPass,
    Worker,
)

# A forgotten exit is looked for this far beyond the shift: yesterday's shift still shows today,
# while the page never has to rank a person's whole history.
OVERDUE_LOOKBACK = timedelta(hours=24)

# The events a person's latest one is chosen among, apart from the event that is then read.
_probed = aliased(GateEvent)

EXIT_MISSING = "exit_missing"
SECOND_ENTRY = "second_entry"
ENTRY_MISSING = "entry_missing"


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
    flag: str = ""  # "", EXIT_MISSING, SECOND_ENTRY or ENTRY_MISSING
    opened_by: Passage | None = None  # the `in`; None when the entry is missing
    closed_by: Passage | None = None  # the `out`, or the later `in` of a second entry


@dataclass(frozen=True, slots=True)
class Anomaly:
    """A passage pairing could not match, and the later `in` that closed a second entry."""

    flag: str
    passage: Passage
    followed_by: Passage | None = None


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

    def close(opened: Passage, end: datetime, by: Passage | None, flag: str) -> None:
        nonlocal open_at, last_end
        if end > opened.at:
            gate_out = by.gate if by is not None and by.direction == "out" else None
            intervals.append(Interval(opened.at, end, opened.gate, gate_out, flag, opened, by))
            last_end = end
        open_at = None

    for passage in sorted(passages, key=lambda p: (p.at, p.event_id)):
        if open_at is not None:
            limit = open_at.at + shift
            if passage.at <= limit:
                if passage.direction == "out":
                    close(open_at, passage.at, passage, "")
                    continue
                close(open_at, passage.at, passage, SECOND_ENTRY)
            else:
                close(open_at, limit, None, EXIT_MISSING)
        if passage.direction == "in":
            open_at = passage
            continue
        start = passage.at - shift
        if last_end is not None and last_end > start:
            start = last_end
        if passage.at > start:
            intervals.append(
                Interval(start, passage.at, None, passage.gate, ENTRY_MISSING, None, passage)
            )
            last_end = passage.at
    if open_at is not None:
        close(open_at, min(open_at.at + shift, max(now, open_at.at)), None, EXIT_MISSING)
    return intervals


def anomalies(passages: Iterable[Passage], *, shift: timedelta, now: datetime) -> list[Anomaly]:
    """The passages the rules above could not pair, in time order."""
    found = []
    for interval in presence_intervals(passages, shift=shift, now=now):
        if interval.flag == ENTRY_MISSING and interval.closed_by is not None:
            found.append(Anomaly(ENTRY_MISSING, interval.closed_by))
        elif interval.flag == SECOND_ENTRY and interval.opened_by is not None:
            found.append(Anomaly(SECOND_ENTRY, interval.opened_by, interval.closed_by))
        elif (
            interval.flag == EXIT_MISSING
            and interval.opened_by is not None
            and interval.start + shift <= now
        ):
            found.append(Anomaly(EXIT_MISSING, interval.opened_by))
    return found


def clip(intervals: Iterable[Interval], start: datetime, end: datetime) -> list[Interval]:
    """The parts of `intervals` inside [start, end)."""
    clipped = []
    for item in intervals:
        low, high = max(item.start, start), min(item.end, end)
        if high > low:
            clipped.append(replace(item, start=low, end=high))
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


def passage(event: Any) -> Passage:
    """The passage an event (a GateEvent or a row with its columns) stands for, in world time."""
    return Passage(event.corrected_at, event.direction, str(event.gate_id), str(event.id))


def _shifted(at: ColumnElement[datetime], shift: timedelta) -> ColumnElement[Any]:
    """`at` + `shift` in SQL, no later than the exact sum: enough to narrow, never to decide."""
    if db.session.get_bind().dialect.name == "postgresql":
        return at + literal(shift, SqlInterval())
    # SQLite keeps times as text, to the microsecond: strftime gives the millisecond, padded to
    # the same width so the texts compare as the times do; at most a millisecond early.
    return func.strftime("%Y-%m-%d %H:%M:%f000", at, f"+{int(shift.total_seconds())} seconds")


def _neighboured(
    criteria: Sequence[ColumnElement[bool]],
    person: Sequence[Any],
    *,
    read: tuple[datetime, datetime],
    entries: tuple[datetime, datetime],
    exits: tuple[datetime, datetime],
    shift: timedelta,
    now: datetime | None,
    after_gate: bool = False,
    earlier: datetime | None = None,
    only: Sequence[ColumnElement[bool]] = (),
) -> tuple[Subquery, ColumnElement[bool]]:
    """The events in `read`, each with the next one of the same person (its gate too if asked),
    and a clause over them that holds on some event of each person any of whose entries in
    `entries`, or exits in `exits`, may not pair (see `maybe_unpaired`).

    An exit's pairing is judged on the event before it, which sees it as its next: each window
    function costs SQLite a pass over every event read, so the previous event's time is never
    asked for. A person's first exit in `read` is judged on their latest event from `earlier`
    on, looked up alone, if `earlier` is given (workers only), and irregular if not. Without
    `now`, an entry with nothing after it counts as irregular however recent. `only` narrows the
    events read to some people's, not the lookup: each of their events is whole there.
    """
    order = (GateEvent.corrected_at, GateEvent.id)

    def neighbour(fn: Any, column: Any) -> Any:
        return fn(column, type_=column.type).over(partition_by=person, order_by=order)

    gates = [neighbour(func.lead, GateEvent.gate_id).label("after_gate")] if after_gate else []
    events = (
        select(
            GateEvent.id,
            GateEvent.worker_id,
            GateEvent.visitor_id,
            GateEvent.corrected_at,
            GateEvent.direction,
            GateEvent.gate_id,
            neighbour(func.lag, GateEvent.direction).label("before"),
            neighbour(func.lead, GateEvent.direction).label("after"),
            neighbour(func.lead, GateEvent.corrected_at).label("after_at"),
            *gates,
        )
        .where(
            *criteria, *only, GateEvent.corrected_at >= read[0], GateEvent.corrected_at < read[1]
        )
        .subquery()
    )
    e = events.c
    last_entry_open: ColumnElement[bool] = e.after.is_(None)
    if now is not None:
        # The last entry is flagged once its shift has ended, not while it may last.
        last_entry_open = and_(last_entry_open, e.corrected_at <= now - shift)
    too_late = e.after_at > _shifted(e.corrected_at, shift)
    irregular = or_(
        and_(
            e.direction == "in",
            e.corrected_at >= entries[0],
            e.corrected_at < entries[1],
            or_(last_entry_open, e.after == "in", too_late),
        ),
        # An exit with nothing before it,
        and_(
            e.direction == "out",
            e.corrected_at >= exits[0],
            e.corrected_at < exits[1],
            e.before.is_(None),
            *_entered_before(criteria, e, since=earlier, until=read[0], shift=shift),
        ),
        # or after another exit, or more than a shift after the entry before it.
        and_(
            e.after == "out",
            e.after_at >= exits[0],
            e.after_at < exits[1],
            or_(e.direction == "out", too_late),
        ),
    )
    return events, irregular


def _entered_before(
    criteria: Sequence[ColumnElement[bool]],
    e: Any,
    *,
    since: datetime | None,
    until: datetime,
    shift: timedelta,
) -> list[ColumnElement[bool]]:
    """That worker `e.worker_id`'s latest event in [since, until) is no entry a shift or less
    before `e`: the clause, or none without `since`."""
    if since is None:
        return []
    earlier = GateEvent.__table__.alias("earlier")
    to_earlier = ClauseAdapter(earlier).traverse
    was = earlier.c
    entered = (
        select(case((was.direction == "in", was.corrected_at)))
        .where(
            *(to_earlier(criterion) for criterion in criteria),
            was.worker_id == e.worker_id,
            was.corrected_at >= since,
            was.corrected_at < until,
        )
        .order_by(was.corrected_at.desc(), was.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    # Named once: written as "is NULL or earlier", both PostgreSQL and SQLite look it up twice.
    return [func.coalesce(_shifted(entered, shift) < e.corrected_at, true())]


def maybe_unpaired(
    criteria: Sequence[ColumnElement[bool]],
    *,
    start: datetime,
    end: datetime,
    shift: timedelta,
    now: datetime,
) -> Select[Any]:
    """The events in [start - shift, end + shift) of each worker who may have an anomaly in
    [start, end): the rows `anomalies` needs, and those of nobody whose passages all pair.

    Whether a passage pairs depends on its neighbour alone (the next one for an `in`, the
    previous one for an `out`) but for ties in time, which can only take a flag away; so a
    window over each worker's events finds every worker with a flag, and a few more, without
    handing the whole enterprise to Python. The rules themselves stay in `presence_intervals`.
    The window starts at `start`, not a shift before: the events before it matter only to an
    exit that is a worker's first in the window (the night shift leaving), and the one event
    that decides it is looked up alone. On a large site that halves the rows the window sorts.
    The workers kept are read again by the index rather than marked by a second window over
    everyone's, which cost as much as the first.
    """
    named = [*criteria, GateEvent.worker_id.is_not(None)]
    read = (start - shift, end + shift)
    unsettled = _not_plainly_paired(named, read=(start, read[1]), shift=shift, now=now)
    events, irregular = _neighboured(
        named,
        [GateEvent.worker_id],
        only=[GateEvent.worker_id.in_(select(unsettled.c.worker_id))],
        read=(start, read[1]),
        entries=(start, end),
        exits=(start, end),
        shift=shift,
        now=now,
        earlier=read[0],
    )
    # Found first and whole: otherwise PostgreSQL sorts everyone's events by worker to merge
    # them with the window's, hoping to stop the window early, and pays 60 ms for the sort.
    flagged = (
        select(events.c.worker_id)
        .where(irregular)
        .cte("flagged")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    columns: list[Any] = [
        GateEvent.id,
        GateEvent.worker_id,
        GateEvent.corrected_at,
        GateEvent.direction,
        GateEvent.gate_id,
    ]
    return select(*columns).where(
        *named,
        GateEvent.corrected_at >= read[0],
        GateEvent.corrected_at < read[1],
        GateEvent.worker_id.in_(select(flagged.c.worker_id)),
    )


_IS_ENTRY, _IS_EXIT = GateEvent.direction == "in", GateEvent.direction == "out"


def _grouped_by_person(
    criteria: Sequence[ColumnElement[bool]],
    person: Sequence[Any],
    read: tuple[datetime, datetime],
    *aggregates: Any,
) -> Subquery:
    """One row for each `person` with events in `read`: the `person` columns, how many events
    (`events`) and entries (`entries`) they have there, and `aggregates` over them."""
    # Each aggregate written once: SQLite does not see two of them alike, each with its own
    # parameters, and would add up both.
    return (
        select(
            *person,
            func.count().label("events"),
            func.count(case((_IS_ENTRY, 1))).label("entries"),
            *aggregates,
        )
        .where(*criteria, GateEvent.corrected_at >= read[0], GateEvent.corrected_at < read[1])
        .group_by(*person)
        .subquery()
    )


def _not_plainly_paired(
    criteria: Sequence[ColumnElement[bool]],
    *,
    read: tuple[datetime, datetime],
    shift: timedelta,
    now: datetime,
) -> CTE:
    """The workers with events in `read` other than those whose events there plainly pair: an
    entry still open (later than a shift before `now`), one stay, a stay and an open entry, or
    two stays, each exit after its entry within a shift, no two events at one moment.

    One grouping, no window: on a large site nearly everyone's day is one of these, and the
    window functions that judge the rest cost SQLite a pass over every event they read each.
    """
    grouped = _grouped_by_person(
        criteria,
        [GateEvent.worker_id],
        read,
        func.min(case((_IS_ENTRY, GateEvent.corrected_at))).label("first_in"),
        func.max(case((_IS_ENTRY, GateEvent.corrected_at))).label("last_in"),
        func.min(case((_IS_EXIT, GateEvent.corrected_at))).label("first_out"),
        func.max(case((_IS_EXIT, GateEvent.corrected_at))).label("last_out"),
    )
    g = grouped.c
    still_open = g.last_in > now - shift
    first_stay = and_(g.first_in < g.first_out, g.first_out <= _shifted(g.first_in, shift))
    plainly_paired = or_(
        and_(g.events == 1, g.entries == 1, still_open),
        and_(g.events == 2, g.entries == 1, first_stay),
        and_(g.events == 3, g.entries == 2, first_stay, g.first_out < g.last_in, still_open),
        and_(
            g.events == 4,
            g.entries == 2,
            first_stay,
            g.first_out < g.last_in,
            g.last_in < g.last_out,
            g.last_out <= _shifted(g.last_in, shift),
        ),
    )
    return (
        select(g.worker_id)
        .where(~plainly_paired)
        .cte("unsettled")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )


def _epoch_micros(at: ColumnElement[datetime]) -> ColumnElement[int]:
    """`at` in whole microseconds since 1970, exactly, in SQL: overlaps add up to the minute."""
    if db.session.get_bind().dialect.name == "postgresql":
        return sql_cast(func.extract("epoch", at) * 1_000_000, BigInteger)
    # SQLite keeps times as fixed-width text; its date functions stop at the millisecond.
    seconds = sql_cast(func.strftime("%s", at), BigInteger)
    return seconds * 1_000_000 + sql_cast(func.substr(at, 21, 6), BigInteger)


def _single_stays(
    criteria: Sequence[ColumnElement[bool]], *, read: tuple[datetime, datetime], shift: timedelta
) -> CTE:
    """Each person named (a worker or a visitor) with events in `read`: worker_id, visitor_id,
    `single` if those events are one entry and after it, within a shift, one exit, and that
    stay (entered_at, gate_in, left_at, gate_out; only of use if `single`).

    One grouping, no window: the stay is the one `presence_intervals` makes of the two events.
    A tie in time, or an exit a shift after the entry to within SQLite's millisecond, is not
    single.
    """
    grouped = _grouped_by_person(
        criteria,
        [GateEvent.worker_id, GateEvent.visitor_id],
        read,
        func.min(case((_IS_ENTRY, GateEvent.corrected_at))).label("entered_at"),
        func.max(case((_IS_ENTRY, GateEvent.gate_id))).label("gate_in"),
        func.max(case((_IS_EXIT, GateEvent.corrected_at))).label("left_at"),
        func.max(case((_IS_EXIT, GateEvent.gate_id))).label("gate_out"),
    )
    g = grouped.c
    single = and_(
        g.events == 2,
        g.entries == 1,
        g.entered_at < g.left_at,
        g.left_at <= _shifted(g.entered_at, shift),
    )
    return (
        select(
            *(g[name] for name in ("worker_id", "visitor_id", "entered_at", "gate_in")),
            *(g[name] for name in ("left_at", "gate_out")),
            single.label("single"),
        )
        .cte("people")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )


def stays_overlapping(
    criteria: Sequence[ColumnElement[bool]],
    spans: Sequence[tuple[datetime, datetime]],
    *,
    shift: timedelta,
) -> CTE:
    """What it takes to know how long everyone named (a worker or a visitor) stayed within
    `spans` (in time order, none overlapping another), in rows of two kinds.

    A stay overlapping a span is opened by an entry a shift before it at the earliest, or closed
    by an exit inside it or up to a shift after. A person all of whose entries and exits there
    pair by rule 2 (each entry with the exit after it, within a shift) has only plain stays
    there, none overlapping another: those overlapping a span come as one row each, the
    entry's, with `after_at` and `after_gate` the exit's, `start` the earliest moment it shares
    with a span, `micros` the person's overlaps added up (in microseconds) and `first_at` the
    earliest `start`. Anyone else comes as all their events within a shift of the spans with the
    other columns None, for `presence_intervals` to pair, as if only those had been read. On a
    large site most people pair every passage, so the rules run in Python for the few who do
    not and SQL adds up the rest.

    Most people there have one entry and one exit, a stay found by grouping their events (its
    row's `id` is None); only the others' events go through the window functions, which cost
    SQLite a pass over every event they read each. A CTE, as a ranking reads it more than once.
    Columns: id, worker_id, visitor_id, corrected_at, direction, gate_id, after_at, after_gate,
    start, micros, first_at.
    """
    low, high = spans[0][0], max(end for _start, end in spans)
    near = (low - shift, high + shift)
    named = [*criteria, or_(GateEvent.worker_id.is_not(None), GateEvent.visitor_id.is_not(None))]
    people = _single_stays(named, read=near, shift=shift)
    p = people.c
    others = select(p.worker_id).where(~p.single)
    events, irregular_event = _neighboured(
        [
            *named,
            or_(
                GateEvent.worker_id.in_(others.where(p.worker_id.is_not(None))),
                and_(
                    GateEvent.worker_id.is_(None),
                    GateEvent.visitor_id.in_(
                        others.with_only_columns(p.visitor_id).where(p.worker_id.is_(None))
                    ),
                ),
            ),
        ],
        (GateEvent.worker_id, GateEvent.visitor_id),
        read=near,
        entries=(near[0], high),
        exits=(low, near[1]),
        shift=shift,
        now=None,
        after_gate=True,
    )
    e = events.c
    people_partition = (e.worker_id, e.visitor_id)
    irregular = func.max(case((irregular_event, 1), else_=0)).over(partition_by=people_partition)
    micros, first = _shares(
        and_(e.direction == "in", e.after == "out"), e.corrected_at, e.after_at, spans
    )
    marked = select(
        *(e[name] for name in ("id", "worker_id", "visitor_id", "corrected_at", "direction")),
        *(e[name] for name in ("gate_id", "after_at", "after_gate")),
        first.label("start"),
        irregular.label("irregular"),
        sql_cast(func.sum(micros).over(partition_by=people_partition), BigInteger).label("micros"),
        func.min(first).over(partition_by=people_partition).label("first_at"),
    ).subquery()
    m = marked.c
    paired = m.irregular == 0
    windowed = select(
        *(m[name] for name in ("id", "worker_id", "visitor_id", "corrected_at", "direction")),
        m.gate_id,
        *(
            case((paired, m[name])).label(name)
            for name in ("after_at", "after_gate", "start", "micros", "first_at")
        ),
    ).where(or_(and_(paired, m.start.is_not(None)), m.irregular == 1))
    single_micros, single_first = _shares(true(), p.entered_at, p.left_at, spans)
    single = select(
        null().label("id"),
        p.worker_id,
        p.visitor_id,
        p.entered_at.label("corrected_at"),
        literal("in").label("direction"),
        p.gate_in.label("gate_id"),
        p.left_at.label("after_at"),
        p.gate_out.label("after_gate"),
        single_first.label("start"),
        sql_cast(single_micros, BigInteger).label("micros"),
        single_first.label("first_at"),
    ).where(p.single, single_first.is_not(None))
    return (
        union_all(windowed, single).cte("stays").prefix_with("MATERIALIZED", dialect="postgresql")
    )


def _shares(
    is_stay: ColumnElement[bool],
    since: ColumnElement[datetime],
    until: ColumnElement[datetime],
    spans: Sequence[tuple[datetime, datetime]],
) -> tuple[ColumnElement[int], ColumnElement[datetime]]:
    """How much of the stay from `since` to `until` (where `is_stay` holds) lies within `spans`,
    in microseconds, and the earliest moment it shares with one of them (None if none)."""
    postgresql = db.session.get_bind().dialect.name == "postgresql"
    later = func.greatest if postgresql else func.max
    shares = [
        (
            and_(is_stay, since < end, until > start),
            later(since, literal(start, UTCDateTime()), type_=UTCDateTime()),
            # A span's edges are counted here, not in SQL: most stays cover a traced one whole,
            # and each of SQLite's date functions costs a microsecond a row.
            case((until < end, _epoch_micros(until)), else_=_micros_since_epoch(end))
            - case((since > start, _epoch_micros(since)), else_=_micros_since_epoch(start)),
        )
        for start, end in spans
    ]
    micros = sum(
        (case((shares_span, share), else_=0) for shares_span, _start, share in shares),
        start=literal(0),
    )
    first = case(*((shares_span, share_start) for shares_span, share_start, _share in shares))
    return micros, first


def _micros_since_epoch(at: datetime) -> ColumnElement[int]:
    """`_epoch_micros` of a time known here, as a parameter."""
    return literal(
        (at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1), BigInteger()
    )


def last_passage(
    *, worker_id: int | None = None, visitor_id: int | None = None, now: datetime
) -> Passage | None:
    """A worker's or a visitor's latest passage up to `now`, or None."""
    person = (
        GateEvent.worker_id == worker_id
        if worker_id is not None
        else GateEvent.visitor_id == visitor_id
    )
    row = db.session.execute(
        select(GateEvent.id, GateEvent.corrected_at, GateEvent.direction, GateEvent.gate_id)
        .where(person, GateEvent.corrected_at <= now)
        .order_by(GateEvent.corrected_at.desc(), GateEvent.id.desc())
        .limit(1)
    ).first()
    return passage(row) if row is not None else None


def with_last_passage(
    query: Select[Any], worker_id: Any
) -> tuple[Select[Any], ColumnElement[Any], ColumnElement[Any]]:
    """`query` with each worker's latest passage: the query, its corrected time and direction
    (both None for a worker with no record left).

    Read from the kept latest passages, one row per worker and enterprise: the worker's row
    that no later one of theirs follows. A join, not a probe per worker, so a filter on the
    passage (gone home: an exit before a time) starts from the few rows it keeps; a LATERAL
    probe for each of 200,000 workers took 920 ms where this takes 50.
    """
    kept = aliased(PersonLastPassage)
    later = aliased(PersonLastPassage)
    followed = (
        select(later.event_id)
        .where(
            later.worker_id == kept.worker_id,
            tuple_(later.corrected_at, later.event_id) > tuple_(kept.corrected_at, kept.event_id),
        )
        .exists()
    )
    joined = query.outerjoin(kept, and_(kept.worker_id == worker_id, ~followed))
    return joined, kept.corrected_at.expression, kept.direction.expression


@dataclass(frozen=True)
class PresentPerson:
    kind: str  # "worker" or "visitor"
    person_id: int
    name: str
    code: str
    department: str
    gate: str
    since: datetime
    pass_valid_until: datetime | None


def last_entries(
    criteria: Sequence[ColumnElement[bool]],
    workers: ColumnElement[bool],
    *,
    now: datetime,
    since: datetime,
    before: datetime | None = None,
) -> Select[Any]:
    """Each person whose latest event in (since, now] is an entry, with that entry.

    `criteria` choose the kept latest passages (`PersonLastPassage`), one per person and
    enterprise; `workers` the workers they may name (see `with_department_and_pass`). A person
    whose kept passage is later than `now` (a tablet may send a time a few minutes ahead; a page
    may look at the past) has their latest event up to `now` looked up among their own events
    instead. Only what the counts need is joined here; names are looked
    up for the people shown. With `before`, only the entries before it.
    """
    latest = last_passages(criteria, now=now, since=since, before=before)
    return with_department_and_pass(latest, workers).where(latest.c.direction == "in")


def with_department_and_pass(passages: Subquery, workers: ColumnElement[bool]) -> Select[Any]:
    """Rows of `last_passages` (or of a part of them) with the worker's department and the
    visitor pass's end, newest first: worker_id, visitor_id, gate_id, at, department,
    valid_until.

    `workers` names the enterprise's workers (an event names only its enterprise's): joining
    tens of thousands of passages to the province's 200,000 workers hashed them all (80 ms,
    spilling to disk); to the enterprise's own, read by their index, 25 ms.
    """
    return (
        select(
            passages.c.worker_id,
            passages.c.visitor_id,
            passages.c.gate_id,
            passages.c.at,
            Worker.department,
            VisitorPass.valid_until,
        )
        .select_from(passages)
        .outerjoin(Worker, and_(Worker.id == passages.c.worker_id, workers))
        .outerjoin(VisitorPass, VisitorPass.id == passages.c.visitor_pass_id)
        .order_by(passages.c.at.desc())
    )


def last_passages(
    criteria: Sequence[ColumnElement[bool]],
    *,
    now: datetime,
    since: datetime,
    before: datetime | None = None,
) -> Subquery:
    """Each person's latest passage in (since, now], entry or exit, as `last_entries` finds it,
    with nothing joined: worker_id, visitor_id, visitor_pass_id, gate_id, direction, at. With
    `before`, only those before it: the bound reaches the kept rows' index, where a filter on
    the union would be applied to every row of it."""
    kept = PersonLastPassage
    until = [kept.corrected_at <= now, *([] if before is None else [kept.corrected_at < before])]
    current = select(
        kept.worker_id,
        kept.visitor_id,
        kept.visitor_pass_id,
        kept.gate_id,
        kept.direction,
        kept.corrected_at.label("at"),
    ).where(*criteria, kept.corrected_at > since, *until)
    ahead = select(kept.enterprise_id, kept.worker_id, kept.visitor_id).where(
        *criteria, kept.corrected_at > now
    )
    worker_ahead = ahead.where(kept.worker_id.is_not(None)).subquery()
    visitor_ahead = ahead.where(kept.visitor_id.is_not(None)).subquery()
    ahead_found = [
        _latest_event_of(
            worker_ahead, _probed.worker_id == worker_ahead.c.worker_id, now=now, since=since
        ),
        _latest_event_of(
            visitor_ahead,
            and_(_probed.worker_id.is_(None), _probed.visitor_id == visitor_ahead.c.visitor_id),
            now=now,
            since=since,
        ),
    ]
    if before is not None:
        ahead_found = [found.where(GateEvent.corrected_at < before) for found in ahead_found]
    return union_all(current, *ahead_found).subquery()


def _latest_event_of(
    people: Subquery, person: Any, *, now: datetime, since: datetime
) -> Select[Any]:
    """For each of `people` (enterprise_id and the person `person` matches on `_probed`), their
    latest event in (since, now]: one probe of their own events each."""
    chosen = (
        select(_probed.id)
        .where(
            _probed.enterprise_id == people.c.enterprise_id,
            person,
            _probed.corrected_at > since,
            _probed.corrected_at <= now,
        )
        .order_by(_probed.corrected_at.desc(), _probed.id.desc())
        .limit(1)
        .correlate(people)
        .scalar_subquery()
    )
    events = (
        select(
            GateEvent.worker_id,
            GateEvent.visitor_id,
            GateEvent.visitor_pass_id,
            GateEvent.gate_id,
            GateEvent.direction,
            GateEvent.corrected_at.label("at"),
        )
        .select_from(people)
        .join(GateEvent, GateEvent.id == chosen)
    )
    return cast(Select[Any], events)


def gate_labels(user: User) -> dict[int, str]:
    gates = db.session.scalars(scoped(Gate, user))
    return {gate.id: f"{gate.code} · {gate.name}" for gate in gates}


def named_people(user: User, rows: list[Any], gates: dict[int, str]) -> list[PresentPerson]:
    """The people behind `rows`, with their names and codes, in the same order."""
    worker_ids = [row.worker_id for row in rows if row.worker_id is not None]
    visitor_ids = [row.visitor_id for row in rows if row.visitor_id is not None]
    # Columns, not entities: a roll call names everyone inside, thousands on a large site.
    workers = {
        worker_id: (name, code)
        for worker_id, name, code in db.session.execute(
            scoped(Worker, user)
            .with_only_columns(Worker.id, Worker.full_name, Worker.employee_code)
            .where(Worker.id.in_(worker_ids))
        )
    }
    visitors = dict(
        db.session.execute(
            scoped(Visitor, user)
            .with_only_columns(Visitor.id, Visitor.full_name)
            .where(Visitor.id.in_(visitor_ids))
        ).all()
    )
    people = []
    for row in rows:
        if row.worker_id is not None:
            kind, person_id = "worker", row.worker_id
            name, code = workers[person_id]
        else:
            kind, person_id = "visitor", row.visitor_id
            name, code = visitors[person_id], ""
        people.append(
            PresentPerson(
                kind=kind,
                person_id=person_id,
                name=name,
                code=code,
                department=row.department or "",
                gate=gates.get(row.gate_id, ""),
                since=row.at,
                pass_valid_until=row.valid_until,
            )
        )
    return people
