"""The SQL that narrows pairing to the workers who may have a flag loses none of their flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server.extensions import db
from server.models import GateEvent
from server.presence import anomalies, maybe_unpaired, passage
from tests.factories import make_enterprise, make_event, make_gate, make_worker

SHIFT = timedelta(hours=8)
BASE = datetime(2026, 3, 1, tzinfo=UTC)
NOW = BASE + timedelta(hours=30)
# Whole half-hours give ties and passages exactly a shift apart; a half second more or less
# probes the bound SQLite reads to the second.
PASSAGES = st.lists(
    st.tuples(
        st.integers(0, 72),
        st.sampled_from((timedelta(0), timedelta(milliseconds=500), -timedelta(milliseconds=500))),
        st.sampled_from(("in", "out")),
    ),
    max_size=5,
)


def flags(passages) -> list[tuple[str, str]]:
    return sorted((a.flag, a.passage.event_id) for a in anomalies(passages, shift=SHIFT, now=NOW))


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(drawn=PASSAGES, window=st.tuples(st.integers(0, 60), st.integers(1, 24)))
# An exit just inside the window after another just before it, after an entry more than a
# shift earlier, and after an exit that followed an entry: each is judged on the latest event
# before it, which the window does not hold.
@example(drawn=[(0, timedelta(0), "out"), (2, timedelta(0), "out")], window=(1, 5))
@example(drawn=[(2, timedelta(0), "in"), (20, timedelta(0), "out")], window=(9, 5))
@example(
    drawn=[(2, timedelta(0), "in"), (4, timedelta(0), "out"), (18, timedelta(0), "out")],
    window=(9, 5),
)
def test_narrowed_workers_keep_every_flag_of_the_window(app, drawn, window) -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    worker = make_worker(enterprise)
    for half_hours, nudge, direction in drawn:
        make_event(
            gate,
            worker=worker,
            direction=direction,
            occurred_at=BASE + half_hours * timedelta(minutes=30) + nudge,
        )
    start = BASE + window[0] * timedelta(hours=1)
    end = start + window[1] * timedelta(hours=1)
    mine = [GateEvent.worker_id == worker.id]
    everything = db.session.execute(
        select(GateEvent.id, GateEvent.corrected_at, GateEvent.direction, GateEvent.gate_id).where(
            *mine, GateEvent.corrected_at >= start - SHIFT, GateEvent.corrected_at < end + SHIFT
        )
    )
    narrowed = db.session.execute(maybe_unpaired(mine, start=start, end=end, shift=SHIFT, now=NOW))

    def inside(found: list[tuple[str, str]], rows) -> list[tuple[str, str]]:
        at = {str(row.id): row.corrected_at for row in rows}
        return [item for item in found if start <= at[item[1]] < end]

    rows = list(everything)
    expected = inside(flags([passage(row) for row in rows]), rows)
    kept = [passage(row) for row in narrowed]
    assert inside(flags(kept), rows) == expected


def test_a_worker_whose_passages_all_pair_is_not_read(app) -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    paired, forgot = make_worker(enterprise), make_worker(enterprise)
    for worker in (paired, forgot):
        make_event(gate, worker=worker, occurred_at=BASE + timedelta(hours=8))
    make_event(gate, worker=paired, direction="out", occurred_at=BASE + timedelta(hours=16))
    rows = db.session.execute(
        maybe_unpaired(
            [GateEvent.enterprise_id == enterprise.id],
            start=BASE,
            end=BASE + timedelta(days=1),
            shift=SHIFT,
            now=NOW,
        )
    )
    assert {row.worker_id for row in rows} == {forgot.id}
