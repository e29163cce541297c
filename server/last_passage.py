"""Keeps `PersonLastPassage`: each person's latest event per enterprise, written with the events.

Every write that stores events upserts the latest of what it stored (`record_stored`, from the
rows in hand); every write that gives an event its person later, or deletes events, recomputes
the people concerned from their events (`_latest`, in SQL). The rule that picks "the latest" is
the same in both: the greater corrected time, then the greater id; and the upsert keeps a row's
event unless the new one is later by that rule.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Iterable
from datetime import datetime
from itertools import chain
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Insert,
    Select,
    String,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import distinct_on

from server.database import among, driver_encoders
from server.models import GateEvent, PersonLastPassage

_KEPT = ("enterprise_id", "worker_id", "visitor_id", "visitor_pass_id", "gate_id", "direction")


class StoredEvent(NamedTuple):
    """What the kept row takes of an event just stored (its id in canonical text)."""

    event_id: str
    enterprise_id: int
    worker_id: int | None
    visitor_id: int | None
    visitor_pass_id: int | None
    gate_id: int
    direction: str
    corrected_at: datetime


def record_stored(connection: Connection, stored: Iterable[StoredEvent]) -> None:
    """Take in events just stored: each person's latest of them replaces their row unless the
    row already holds a later one. Picked from the rows in hand, not read back: a push's 500
    rows are already in memory, and on SQLite this runs under the database's write lock. Sent
    to the driver as they are stored: SQLAlchemy's handling of a few hundred rows' parameters
    cost more than the upsert."""
    latest: dict[tuple[str, int, int], StoredEvent] = {}
    for event in stored:
        if event.worker_id is not None:
            key = ("worker_id", event.enterprise_id, event.worker_id)
        elif event.visitor_id is not None:
            key = ("visitor_id", event.enterprise_id, event.visitor_id)
        else:
            continue
        best = latest.get(key)
        if best is None or (event.corrected_at, event.event_id) > (
            best.corrected_at,
            best.event_id,
        ):
            latest[key] = event
    dialect = connection.dialect.name
    event_id, moment = driver_encoders(dialect)
    for person in ("worker_id", "visitor_id"):
        # Key order, as in `_upsert_latest`: two pushes naming the same people never deadlock.
        rows = [
            (event_id(event.event_id), *event[1:-1], moment(event.corrected_at))
            for key, event in sorted(latest.items(), key=lambda item: item[0])
            if key[0] == person
        ]
        if not rows:
            continue
        head, markers, tail = _driver_upsert(dialect, person)
        if dialect == "sqlite":
            # One statement for all, as the push's own insert: executemany steps SQLite once
            # per row, giving up and taking back the GIL each time, under the write lock.
            values = tuple(chain.from_iterable(rows))
            connection.exec_driver_sql(head + ", ".join([markers] * len(rows)) + tail, values)
        else:
            # psycopg pipelines an executemany, and prepares it.
            connection.exec_driver_sql(head + markers + tail, rows)


def recount(
    connection: Connection,
    *,
    worker_ids: Collection[int] = (),
    visitor_ids: Collection[int] = (),
) -> None:
    """Recompute the rows of these people, in every enterprise, from the events left."""
    people: list[ColumnElement[bool]] = []
    kept = PersonLastPassage
    if worker_ids:
        people.append(GateEvent.worker_id.in_(sorted(worker_ids)))
        connection.execute(delete(kept).where(kept.worker_id.in_(sorted(worker_ids))))
    if visitor_ids:
        people.append(GateEvent.visitor_id.in_(sorted(visitor_ids)))
        connection.execute(delete(kept).where(kept.visitor_id.in_(sorted(visitor_ids))))
    if people:
        _upsert_latest(connection, or_(*people))


def recount_deleted(connection: Connection, event_ids: Collection[uuid.UUID]) -> None:
    """After events are deleted: recompute the people whose latest event was among them."""
    kept = PersonLastPassage
    gone = connection.execute(
        delete(kept)
        .where(among(kept.event_id, event_ids, connection.dialect.name))
        .returning(kept.worker_id, kept.visitor_id)
    ).all()
    recount(
        connection,
        worker_ids={row.worker_id for row in gone if row.worker_id is not None},
        visitor_ids={row.visitor_id for row in gone if row.visitor_id is not None},
    )


def recount_all(connection: Connection) -> None:
    """Rebuild every row from the events: for records written around the store (the seed's
    COPY, a database that had events before this table)."""
    connection.execute(delete(PersonLastPassage))
    _upsert_latest(connection, true())


def _upsert_latest(connection: Connection, events: ColumnElement[bool]) -> None:
    # A worker's row and a visitor's row answer to different unique indexes, and one statement
    # names one conflict target. Rows go in key order, so two pushes naming the same people
    # lock their rows in the same order and never deadlock.
    dialect = connection.dialect.name
    visitor_alone = and_(GateEvent.worker_id.is_(None), GateEvent.visitor_id.is_not(None))
    for person, named in (
        ("worker_id", GateEvent.worker_id.is_not(None)),
        ("visitor_id", visitor_alone),
    ):
        latest = _latest(dialect, person, and_(events, named))
        connection.execute(_upsert(dialect, person, latest))


@functools.cache
def _driver_upsert(dialect: str, person: str) -> tuple[str, str, str]:
    """`_upsert` of rows of parameters in `StoredEvent`'s order, as the driver's SQL: the text
    before the rows, one row's markers, and the text after the rows."""
    columns = StoredEvent._fields
    statement = _upsert(dialect, person).values({name: bindparam(name) for name in columns})
    text = statement.compile(dialect=_DIALECTS[dialect]).string
    if dialect == "postgresql":
        # Named markers, made positional.
        text = text % dict.fromkeys(columns, "%s")
    head, values, after = text.partition(" VALUES ")
    markers, conflict, tail = after.partition(" ON CONFLICT ")
    return head + values, markers, conflict + tail


_DIALECTS = {"sqlite": sqlite.dialect(), "postgresql": postgresql.dialect()}


def _upsert(dialect: str, person: str, latest: Select[Any] | None = None) -> Insert:
    """The upsert of kept rows keyed by `person`: of the rows `latest` selects, or of the rows
    given as parameters."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    kept = PersonLastPassage.__table__.c
    statement = insert(PersonLastPassage)
    if latest is not None:
        statement = statement.from_select(["event_id", *_KEPT, "corrected_at"], latest)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=[kept[person], kept.enterprise_id],
        index_where=kept[person].is_not(None),
        set_={name: new[name] for name in ("event_id", *_KEPT, "corrected_at")},
        where=tuple_(kept.corrected_at, kept.event_id) < tuple_(new.corrected_at, new.event_id),
    )


def _latest(dialect: str, person: str, events: ColumnElement[bool]) -> Select[Any]:
    """Each (enterprise, person)'s latest event among `events`, in key order."""
    names = ("id", *_KEPT, "corrected_at")
    table = GateEvent.__table__.c
    key = (table.enterprise_id, table[person])
    if dialect == "postgresql":
        return (
            select(*(table[name] for name in names))
            .where(events)
            .ext(distinct_on(*key))
            .order_by(*key, table.corrected_at.desc(), table.id.desc())
        )
    # SQLite's rule that with max() the only aggregate, the other columns come from the row
    # holding the maximum; times are fixed-width text and ids 32 hex digits, so their
    # concatenation sorts as (time, id) does on PostgreSQL.
    time_then_id = sql_cast(table.corrected_at, String) + sql_cast(table.id, String)
    ranked = (
        select(*(table[name] for name in names), func.max(time_then_id))
        .where(events)
        .group_by(*key)
        .subquery()
    )
    # The WHERE keeps SQLite from reading the upsert's ON CONFLICT as the join's ON.
    return (
        select(*(ranked.c[name] for name in names))
        .where(true())
        .order_by(ranked.c.enterprise_id, ranked.c[person])
    )
