"""Kept pairing days: the page gives what pairing every event afresh gives, whatever came in,
was attached, or was purged since a day was kept, and under any max stay."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from server.extensions import db
from server.hr.activity.services import resolve_event
from server.hr.pairing.services import pairing_flags
from server.models import GateEvent, PairingDay
from server.presence import anomalies, passage
from server.retention import Policy, purge
from tests.factories import make_enterprise, make_event, make_gate, make_user, make_worker

TZ = "Asia/Ho_Chi_Minh"
FIRST, LAST = date(2026, 3, 1), date(2026, 3, 5)
START = datetime.combine(FIRST, time(), tzinfo=ZoneInfo(TZ))
END = datetime.combine(LAST + timedelta(days=1), time(), tzinfo=ZoneInfo(TZ))
# With an 8-hour stay the 1st to the 3rd are closed and kept, the 4th and 5th paired live.
NOW = datetime.combine(LAST, time(6), tzinfo=ZoneInfo(TZ))
SHIFTS = (timedelta(hours=8), timedelta(hours=5))
# (worker 0 or 1, or None for an unresolved badge; half-hours from a day before the 1st;
# direction): whole half-hours give ties and passages exactly a shift apart.
EVENTS = st.lists(
    st.tuples(
        st.sampled_from((0, 1, None)), st.integers(0, 12 * 24 // 2), st.sampled_from(("in", "out"))
    ),
    max_size=8,
)


def page(hr, shift: timedelta) -> list[tuple[str, str, int, str | None]]:
    found = pairing_flags(
        hr, day_from=FIRST, day_to=LAST, timezone=TZ, shift=shift, now=NOW, include_resolved=True
    )
    return sorted(
        (
            flag.flag,
            str(flag.event.event_id),
            flag.worker_id,
            str(flag.followed_by.event_id) if flag.followed_by else None,
        )
        for flag in found.flags
    )


def afresh(enterprise, shift: timedelta) -> list[tuple[str, str, int, str | None]]:
    """Every event of every worker, paired whole: the model the kept days must agree with."""
    by_worker = defaultdict(list)
    for row in db.session.execute(
        select(GateEvent).where(
            GateEvent.enterprise_id == enterprise.id, GateEvent.worker_id.is_not(None)
        )
    ).scalars():
        by_worker[row.worker_id].append(passage(row))
    return sorted(
        (
            anomaly.flag,
            anomaly.passage.event_id,
            worker_id,
            anomaly.followed_by.event_id if anomaly.followed_by else None,
        )
        for worker_id, passages in by_worker.items()
        for anomaly in anomalies(passages, shift=shift, now=NOW)
        if START <= anomaly.passage.at < END
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    before=EVENTS,
    late=EVENTS,
    purged_hours=st.integers(0, 6 * 24),
)
def test_kept_days_agree_with_pairing_everything_afresh(app, before, late, purged_hours) -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    workers = [make_worker(enterprise), make_worker(enterprise)]
    hr = make_user("hr", enterprise=enterprise)

    def add(drawn) -> list[GateEvent]:
        return [
            make_event(
                gate,
                worker=workers[who] if who is not None else None,
                direction=direction,
                occurred_at=START - timedelta(days=1) + half_hours * timedelta(minutes=30),
            )
            for who, half_hours, direction in drawn
        ]

    def agree() -> None:
        for shift in SHIFTS:
            assert page(hr, shift) == afresh(enterprise, shift)

    unknown = [event for event in add(before) if event.worker_id is None]
    agree()
    # Records a tablet sends late, into days already kept.
    add(late)
    agree()
    # HR attaches an unknown badge's records to a worker.
    for event in unknown:
        resolve_event(hr, event, workers[0].employee_code, now=NOW)
    agree()
    # The purge lets the oldest records go.
    cutoff_days = (NOW - (START - timedelta(days=1) + timedelta(hours=purged_hours))) / timedelta(
        days=1
    )
    purge(NOW, Policy(cutoff_days, 10_000, 10_000, 10_000), timezone=TZ)
    agree()


def test_closed_days_are_kept_and_the_open_ones_are_not(app) -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    worker = make_worker(enterprise)
    hr = make_user("hr", enterprise=enterprise)
    forgotten = make_event(gate, worker=worker, occurred_at=START + timedelta(hours=8))
    page(hr, SHIFTS[0])
    kept = {
        row.day: row.flags
        for row in db.session.scalars(
            select(PairingDay).where(PairingDay.enterprise_id == enterprise.id)
        )
    }
    assert sorted(kept) == [FIRST, FIRST + timedelta(days=1), FIRST + timedelta(days=2)]
    assert [flag[2][3] for flag in kept[FIRST]] == [str(forgotten.id)]
    assert kept[FIRST + timedelta(days=1)] == []
