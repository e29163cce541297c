"""Local days: users think in Asia/Ho_Chi_Minh days, the database stores UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo


def local_day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC instants where local `day` starts and the next one starts."""
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time.min, tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def local_today(now: datetime, timezone: str) -> date:
    return now.astimezone(ZoneInfo(timezone)).date()


def in_zone(value: datetime, zone: tzinfo) -> datetime:
    """`value` (naive means UTC) on the clocks of `zone`; in UTC where `zone` has no such day.

    Year 1 west of UTC and year 9999 east of it lie beyond the calendar: a page showing such a
    stored time shows it in UTC rather than fail.
    """
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        return aware.astimezone(zone)
    except OverflowError:
        return aware.astimezone(UTC)
