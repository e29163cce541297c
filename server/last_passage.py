"""Keeps `PersonLastPassage`: each person's latest event per enterprise, written with the events.

Every write that stores events upserts the latest of what it stored; every write that gives an
event its person later, or deletes events, recomputes the people concerned from their events.
One statement does both (`_upsert_latest`), so the rule that picks "the latest" lives here once:
the greater corrected time, then the greater id, the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Sequence
from typing import Any

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

from server.database import among
from server.models import GateEvent, PersonLastPassage

_KEPT = ("enterprise_id", "worker_id", "visitor_id", "visitor_pass_id", "gate_id", "direction")


def record_stored(connection: Connection, stored: ColumnElement[bool]) -> None:
    """Take in the events just stored (those matching `stored`): each person's latest of them
    replaces their row unless the row already holds a later one."""
    _upsert_latest(connection, stored)


def record_batch(connection: Connection, batch_id: int) -> None:
    """`record_stored` for the events one push stored (its batch holds exactly those): the
    statements are built once, the batch their parameter. Built for each push, they cost more
    than they take to run, under SQLite's write lock."""
    for statement in _batch_upserts(connection.dialect.name):
        connection.execute(statement, {"batch_id": batch_id})


@functools.cache
def _batch_upserts(dialect: str) -> tuple[Insert, ...]:
    return tuple(_upserts(dialect, GateEvent.batch_id == bindparam("batch_id")))


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
    for statement in _upserts(connection.dialect.name, events):
        connection.execute(statement)


def _upserts(dialect: str, events: ColumnElement[bool]) -> Sequence[Insert]:
    # A worker's row and a visitor's row answer to different unique indexes, and one statement
    # names one conflict target. Rows go in key order, so two pushes naming the same people
    # lock their rows in the same order and never deadlock.
    visitor_alone = and_(GateEvent.worker_id.is_(None), GateEvent.visitor_id.is_not(None))
    statements = []
    for person, named in (
        ("worker_id", GateEvent.worker_id.is_not(None)),
        ("visitor_id", visitor_alone),
    ):
        kept_person = PersonLastPassage.__table__.c[person]
        latest = _latest(dialect, person, and_(events, named))
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(PersonLastPassage).from_select(
            ["event_id", *_KEPT, "corrected_at"], latest
        )
        new = statement.excluded
        kept = PersonLastPassage.__table__.c
        statements.append(
            statement.on_conflict_do_update(
                index_elements=[kept_person, kept.enterprise_id],
                index_where=kept_person.is_not(None),
                set_={name: new[name] for name in ("event_id", *_KEPT, "corrected_at")},
                where=tuple_(kept.corrected_at, kept.event_id)
                < tuple_(new.corrected_at, new.event_id),
            )
        )
    return statements


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
