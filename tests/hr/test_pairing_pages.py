"""Pages of flags: newest first, then by name, cut where the whole list would be cut, though
only the names near a page's edges are read."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.hr.pairing import services
from server.hr.pairing.services import pairing_flags
from tests.factories import make_enterprise, make_event, make_gate, make_user, make_worker

TZ = "Asia/Ho_Chi_Minh"
DAY = date(2026, 3, 10)
NOW = datetime(2026, 3, 12, 3, 0, tzinfo=UTC)
SHIFT = timedelta(hours=12)
PER_PAGE = 3
# (name, hour of a forgotten exit's entry): few names and hours give ties on both keys.
ENTRIES = st.lists(st.tuples(st.sampled_from("ABC"), st.integers(6, 9)), max_size=10)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(entries=ENTRIES)
def test_pages_cut_the_list_ordered_whole(app, entries) -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    hr = make_user("hr", enterprise=enterprise)
    for name, hour in entries:
        worker = make_worker(enterprise, full_name=name)
        make_event(
            gate,
            worker=worker,
            occurred_at=datetime.combine(DAY, time(hour), tzinfo=ZoneInfo(TZ)),
        )

    def listed(page: int) -> list[tuple[datetime, str, str]]:
        found = pairing_flags(
            hr, day_from=DAY, day_to=DAY, timezone=TZ, shift=SHIFT, now=NOW, page=page
        )
        assert found.total == len(entries)
        return [(flag.event.at, flag.name, str(flag.event.event_id)) for flag in found.flags]

    with mock.patch.object(services, "PER_PAGE", PER_PAGE):
        pages = [listed(page) for page in range(1, len(entries) // PER_PAGE + 3)]
    whole = sorted(
        (item for page in pages for item in page),
        key=lambda item: (-item[0].timestamp(), *item[1:]),
    )
    assert [item for page in pages for item in page] == whole
    assert [len(page) for page in pages if page] == [
        min(PER_PAGE, len(entries) - n) for n in range(0, len(entries), PER_PAGE)
    ]
