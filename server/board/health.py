"""Sync health: is every gate of every enterprise sending its records, and what is missing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, Protocol, cast

from sqlalchemy import Select, and_, exists, func, literal, select, union_all

from server.access import scope_clause
from server.admin.config import Thresholds
from server.database import among
from server.extensions import db
from server.models import (
    Device,
    DeviceWipe,
    Enterprise,
    Gate,
    GateEvent,
    QuarantinedEvent,
    SyncBatch,
    User,
    Zone,
)
from server.retention import purged_seq_ranges

OK, LAGGING, STALE, NEVER, REVOKED = "ok", "lagging", "stale", "never_synced", "revoked"
WIPED = "wiped"
# Worst first: an enterprise or gate is as healthy as its best tablet allows.
STATUS_ORDER = (WIPED, NEVER, STALE, LAGGING, OK, REVOKED)
# A reported wipe shows as the tablet's status this long (PROTOCOL §10), revoked or not.
WIPE_SHOWN_FOR = timedelta(days=30)
EVENTS_PER_DAY_WINDOW = timedelta(days=7)
LAG_WINDOW = timedelta(days=30)
# The chart reads at most this many of the latest records: a large enterprise's 30 days are
# over a million, and reading them all would make the page grow with the table.
LAG_SAMPLE = 10_000
# Upper bounds, in seconds, of the lag chart's bars; the last bar takes everything longer.
LAG_BUCKETS: tuple[tuple[float, str], ...] = (
    (60, "< 1 min"),
    (300, "1–5 min"),
    (1_800, "5–30 min"),
    (7_200, "30 min–2 h"),
    (86_400, "2–24 h"),
    (float("inf"), "> 24 h"),
)


# Tablets by id, or a query of their ids (a scope of thousands is cheaper as a subquery).
DeviceIds = Sequence[int] | Select[tuple[int]]


@dataclass(frozen=True)
class Reason:
    """Why a status was given: a message key and its figures, worded by the template."""

    code: str
    # A datetime, a timedelta or a count, as the code says.
    value: Any = None


@dataclass(slots=True)
class TabletHealth:
    device_id: int | None
    label: str
    enterprise_id: int
    enterprise_name: str
    zone_id: int | None
    zone_name: str
    gate_id: int
    gate_name: str
    status: str
    reasons: list[Reason]
    last_sync_at: datetime | None = None
    last_event_at: datetime | None = None
    backlog: int = 0
    oldest_pending_age: timedelta | None = None
    missing: int = 0
    skew_seconds: float | None = None
    skew_flagged: bool = False
    app_version: str = ""
    quarantined: int = 0
    events_per_day: float = 0.0
    revoked_at: datetime | None = None


@dataclass
class Rollup:
    """The share of active gates with a tablet that synced within the lagging threshold."""

    key: int | None
    name: str
    gates: int = 0
    gates_synced: int = 0
    enterprises: int = 0
    on_paper: int = 0
    status: str = OK
    last_record_at: datetime | None = None
    is_on_paper: bool = False
    zone_name: str = ""

    @property
    def share(self) -> float | None:
        return self.gates_synced / self.gates if self.gates else None


@dataclass
class HealthReport:
    tablets: list[TabletHealth]
    enterprises: list[Rollup]
    zones: list[Rollup]
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Filters:
    zone_id: int | None = None
    enterprise_id: int | None = None
    status: str | None = None
    text: str = ""


class TabletFacts(Protocol):
    """What a tablet's status is decided from: a Device, or a row of its columns."""

    @property
    def id(self) -> int: ...
    @property
    def gate_id(self) -> int: ...
    @property
    def enrolled_at(self) -> datetime: ...
    @property
    def revoked_at(self) -> datetime | None: ...
    @property
    def last_sync_at(self) -> datetime | None: ...
    @property
    def reported_backlog(self) -> int: ...
    @property
    def oldest_pending_at(self) -> datetime | None: ...
    @property
    def highest_seq(self) -> int: ...


@dataclass(frozen=True)
class WipeSeen:
    """A wipe as the board states it: reported by a tablet, or inferred from a silent backlog."""

    lost_at_most: int
    after_seq: int
    last_known_at: datetime | None
    reported: bool


def device_status(
    device: TabletFacts,
    *,
    now: datetime,
    thresholds: Thresholds,
    missing: int,
    wipe: WipeSeen | None = None,
) -> tuple[str, list[Reason]]:
    """The status of one tablet and the reasons for it, from the configured thresholds."""
    if wipe is not None:
        # What a wiped tablet held is a loss, never "normal", whatever else is true of it.
        return WIPED, [Reason("wiped" if wipe.reported else "possible_wipe", wipe)]
    if device.revoked_at is not None:
        return REVOKED, [Reason("revoked", device.revoked_at)]
    if device.last_sync_at is None:
        return NEVER, [Reason("never_synced")]
    since_sync = now - device.last_sync_at
    if since_sync > timedelta(hours=thresholds.stale_after_hours):
        return STALE, [Reason("no_sync_for", since_sync)]
    reasons = []
    if since_sync > timedelta(minutes=thresholds.lagging_after_minutes):
        reasons.append(Reason("no_sync_for", since_sync))
    pending_age = _pending_age(device, now)
    if pending_age is not None and pending_age > timedelta(
        minutes=thresholds.lagging_after_minutes
    ):
        reasons.append(Reason("oldest_waiting", pending_age))
    if missing:
        reasons.append(Reason("missing", missing))
    return (LAGGING, reasons) if reasons else (OK, [Reason("synced_within", since_sync)])


def _pending_age(device: TabletFacts, now: datetime) -> timedelta | None:
    if not device.reported_backlog or device.oldest_pending_at is None:
        return None
    return max(now - device.oldest_pending_at, timedelta(0))


def wipes_seen(
    devices: Sequence[TabletFacts],
    device_ids: DeviceIds,
    *,
    now: datetime,
    silent_after: timedelta,
) -> dict[int, WipeSeen]:
    """The wipe each tablet shows: its latest report within WIPE_SHOWN_FOR, else a possible wipe.

    A possible wipe, with no report: the tablet last said records were waiting, then fell
    silent, and a tablet enrolled at its gate after that silence began (PROTOCOL §10).
    `device_ids` are those of `devices`.
    """
    seen: dict[int, WipeSeen] = {}
    reports = db.session.scalars(
        select(DeviceWipe)
        .where(DeviceWipe.device_id.in_(device_ids), DeviceWipe.received_at >= now - WIPE_SHOWN_FOR)
        .order_by(DeviceWipe.received_at, DeviceWipe.id)
    )
    for report in reports:
        seen[report.device_id] = WipeSeen(
            report.lost_at_most, report.server_highest_seq, report.last_known_at, True
        )
    enrolled_at_gate: dict[int, list[datetime]] = defaultdict(list)
    for device in devices:
        if device.revoked_at is None and device.enrolled_at <= now:
            enrolled_at_gate[device.gate_id].append(device.enrolled_at)
    for device in devices:
        if device.id in seen or not device.reported_backlog or device.last_sync_at is None:
            continue
        silent_since = device.last_sync_at
        if now - silent_since <= silent_after:
            continue
        if any(enrolled > silent_since for enrolled in enrolled_at_gate[device.gate_id]):
            seen[device.id] = WipeSeen(
                device.reported_backlog, device.highest_seq, device.last_sync_at, False
            )
    return seen


def _worst(statuses: Iterable[str], empty: str) -> str:
    ranked = sorted(statuses, key=STATUS_ORDER.index)
    return ranked[0] if ranked else empty


def _best(statuses: Sequence[str], empty: str) -> str:
    live = [s for s in statuses if s != REVOKED]
    if not live:
        return REVOKED if statuses else empty
    return sorted(live, key=STATUS_ORDER.index)[-1]


def missing_ranges(device_ids: DeviceIds) -> dict[int, list[tuple[int, int]]]:
    """Seq ranges each tablet numbered in its current epoch that the server never received.

    Proven without reading every seq: the count of events each tablet has stored in its epoch,
    kept by every write (Device.seqs_stored), says whether anything below its highest seq is
    missing. For a tablet that is short, the ranges the sync engine believes missing are tried
    first: if they hold no event and their sizes make up the shortfall exactly, they are the
    gaps (seqs are unique in an epoch). Otherwise a window query finds the gaps. Seqs the server
    quarantined, or stored and later purged by retention, were received: they are no gap, and
    they count as received in the sums, so a refused record costs no window query.
    """
    in_epoch = and_(
        GateEvent.device_id == Device.id,
        GateEvent.seq_epoch == Device.seq_epoch,
        GateEvent.seq <= Device.highest_seq,
    )
    # A tablet that stored every seq up to its highest has no gap, whatever was purged: only the
    # few others are read, with the ranges the engine believes missing.
    short = db.session.execute(
        select(
            Device.id,
            Device.seq_epoch,
            Device.highest_seq,
            Device.missing_seq_ranges,
            Device.seqs_stored,
        ).where(
            Device.id.in_(device_ids),
            Device.highest_seq > 0,
            Device.seqs_stored < Device.highest_seq,
        )
    ).all()
    short_ids = [row.id for row in short]
    purged = purged_seq_ranges(short_ids) if short else {}
    quarantined = _quarantined_seqs(short_ids) if short else {}
    # Per tablet: its epoch, highest seq, count, purged ranges, believed ranges, and the
    # quarantined seqs in neither, which are received unless a stored event already holds them.
    facts = {}
    for device_id, epoch, highest, hinted, count in short:
        gone = _subtract(purged.get((device_id, epoch), []), [(highest + 1, None)])
        ranges = _usable_ranges(hinted, highest)
        refused = {
            seq
            for seq in quarantined.get(device_id, ())
            if seq <= highest and not _within(seq, gone) and not _within(seq, ranges)
        }
        facts[device_id] = (epoch, highest, count, gone, ranges, refused)
    stored = _stored_among({key: (fact[0], fact[5]) for key, fact in facts.items()})
    believed: dict[int, tuple[int, list[tuple[int, int]]]] = {}
    unexplained: dict[int, list[tuple[int, int]]] = {}
    for device_id, (epoch, highest, count, gone, ranges, refused) in facts.items():
        received = count + range_size(gone) + len(refused - stored[device_id])
        if received >= highest:
            continue
        if ranges and received + range_size(ranges) == highest:
            believed[device_id] = (epoch, ranges)
        else:
            unexplained[device_id] = gone
    for device_id in _holding_events(believed):
        epoch = believed.pop(device_id)[0]
        unexplained[device_id] = purged.get((device_id, epoch), [])
    gaps = {device_id: ranges for device_id, (_epoch, ranges) in believed.items()}
    for device_id, ranges in _scanned_gaps(list(unexplained), in_epoch).items():
        left = _subtract(ranges, unexplained[device_id])
        if left:
            gaps[device_id] = left
    return _without_quarantined(gaps, quarantined)


# Beyond this many believed ranges, one window query is cheaper than proving each range empty.
MAX_PROVEN_RANGES = 50
PROBES_PER_QUERY = 400


def _usable_ranges(believed: object, highest: int) -> list[tuple[int, int]]:
    if not isinstance(believed, list) or len(believed) > MAX_PROVEN_RANGES:
        return []
    ranges = []
    for item in believed:
        if not (isinstance(item, list | tuple) and len(item) == 2):
            return []
        low, high = item
        if not (isinstance(low, int) and isinstance(high, int) and 1 <= low <= high <= highest):
            return []
        ranges.append((low, high))
    ranges.sort()
    overlapping = any(a[1] >= b[0] for a, b in pairwise(ranges))
    return [] if overlapping else ranges


def _holding_events(believed: dict[int, tuple[int, list[tuple[int, int]]]]) -> set[int]:
    """The tablets for which some believed-missing range does hold a stored event.

    One probe per range, each an index seek that stops at the first row found.
    """
    probes = [
        select(literal(device_id)).where(
            exists().where(
                GateEvent.device_id == device_id,
                GateEvent.seq_epoch == epoch,
                GateEvent.seq.between(low, high),
            )
        )
        for device_id, (epoch, ranges) in believed.items()
        for low, high in ranges
    ]
    found: set[int] = set()
    # SQLite refuses a compound SELECT of more than 500 terms.
    for start in range(0, len(probes), PROBES_PER_QUERY):
        found.update(db.session.scalars(union_all(*probes[start : start + PROBES_PER_QUERY])))
    return found


def _scanned_gaps(device_ids: list[int], in_epoch) -> dict[int, list[tuple[int, int]]]:  # type: ignore[no-untyped-def]
    if not device_ids:
        return {}
    previous = func.lag(GateEvent.seq, 1, 0).over(
        partition_by=GateEvent.device_id, order_by=GateEvent.seq
    )
    numbered = (
        select(GateEvent.device_id, GateEvent.seq, previous.label("previous"))
        .join(Device, in_epoch)
        .where(Device.id.in_(device_ids))
        .subquery()
    )
    gaps: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for device_id, seq, before in db.session.execute(
        select(numbered.c.device_id, numbered.c.seq, numbered.c.previous).where(
            numbered.c.seq - numbered.c.previous > 1
        )
    ):
        gaps[device_id].append((before + 1, seq - 1))
    top = select(func.max(GateEvent.seq)).where(in_epoch).scalar_subquery()
    for device_id, highest, last in db.session.execute(
        select(Device.id, Device.highest_seq, top).where(Device.id.in_(device_ids))
    ):
        if (last or 0) < highest:
            gaps[device_id].append(((last or 0) + 1, highest))
    return gaps


def _quarantined_seqs(device_ids: list[int]) -> dict[int, set[int]]:
    """The seqs each tablet sent in its current epoch that the server quarantined."""
    received: defaultdict[int, set[int]] = defaultdict(set)
    query = (
        select(QuarantinedEvent.device_id, QuarantinedEvent.seq)
        .join(Device, Device.id == QuarantinedEvent.device_id)
        .where(
            among(QuarantinedEvent.device_id, device_ids, db.session.get_bind().dialect.name),
            QuarantinedEvent.seq.is_not(None),
            (Device.seq_reset_at.is_(None)) | (QuarantinedEvent.received_at >= Device.seq_reset_at),
        )
    )
    # The query keeps only rows with a seq.
    for device_id, seq in cast(Iterable[tuple[int, int]], db.session.execute(query)):
        received[device_id].add(seq)
    return received


def _stored_among(wanted: dict[int, tuple[int, set[int]]]) -> defaultdict[int, set[int]]:
    """Which of the given seqs of each tablet's epoch a stored event holds: index seeks."""
    probes = [
        select(GateEvent.device_id, GateEvent.seq).where(
            GateEvent.device_id == device_id,
            GateEvent.seq_epoch == epoch,
            GateEvent.seq.in_(sorted(seqs)),
        )
        for device_id, (epoch, seqs) in wanted.items()
        if seqs
    ]
    found: defaultdict[int, set[int]] = defaultdict(set)
    for start in range(0, len(probes), PROBES_PER_QUERY):
        rows = db.session.execute(union_all(*probes[start : start + PROBES_PER_QUERY]))
        # Both columns are matched by equality, so neither is NULL here.
        for device_id, seq in cast(Iterable[tuple[int, int]], rows):
            found[device_id].add(seq)
    return found


def _within(seq: int, ranges: Iterable[tuple[int, int]]) -> bool:
    return any(low <= seq <= high for low, high in ranges)


def _without_quarantined(
    gaps: dict[int, list[tuple[int, int]]], quarantined: dict[int, set[int]]
) -> dict[int, list[tuple[int, int]]]:
    result = {}
    for device_id, ranges in gaps.items():
        split = _subtract(ranges, [(seq, seq) for seq in quarantined.get(device_id, ())])
        if split:
            result[device_id] = split
    return result


def _subtract(
    ranges: list[tuple[int, int]], holes: Sequence[tuple[int, int | None]]
) -> list[tuple[int, int]]:
    """`ranges` without the seqs in `holes` (inclusive; a hole without an end runs on)."""
    result = []
    for low, high in sorted(ranges):
        start = low
        for hole_low, hole_high in sorted(holes, key=lambda hole: hole[0]):
            hole_high = high if hole_high is None else hole_high
            if hole_high < start or hole_low > high:
                continue
            if hole_low > start:
                result.append((start, hole_low - 1))
            start = max(start, hole_high + 1)
        if start <= high:
            result.append((start, high))
    return result


def range_size(ranges: Iterable[tuple[int, int]]) -> int:
    return sum(high - low + 1 for low, high in ranges)


# Plain columns, not ORM rows: a Gate and an Enterprise loaded per tablet cost more than the
# queries when two thousand tablets share a few hundred of them.
_GATE_COLUMNS = (
    Gate.id.label("gate_id"),
    Gate.code.label("gate_code"),
    Gate.name.label("gate_name"),
    Enterprise.id.label("enterprise_id"),
    Enterprise.name.label("enterprise_name"),
    Enterprise.zone_id,
    Zone.name.label("zone_name"),
)


# A Device loaded per tablet would cost more than all the page's queries.
_DEVICE_COLUMNS = (
    Device.id,
    Device.label,
    Device.enrolled_at,
    Device.revoked_at,
    Device.last_sync_at,
    Device.reported_backlog,
    Device.oldest_pending_at,
    Device.highest_seq,
    Device.last_skew_seconds,
    Device.app_version,
)


def _scoped_devices(user: User, filters: Filters) -> Select:
    query = (
        select(*_DEVICE_COLUMNS, *_GATE_COLUMNS)
        .join(Gate, Gate.id == Device.gate_id)
        .join(Enterprise, Enterprise.id == Device.enterprise_id)
        .outerjoin(Zone, Zone.id == Enterprise.zone_id)
        .where(scope_clause(Device, user))
    )
    return _filtered(query, filters)


def _scoped_device_ids(user: User, filters: Filters) -> Select[tuple[int]]:
    """The ids `_scoped_devices` finds, as a subquery: thousands of bound ids cost more."""
    query = (
        select(Device.id)
        .join(Enterprise, Enterprise.id == Device.enterprise_id)
        .where(scope_clause(Device, user))
    )
    return _filtered(query, filters)


def _filtered(query: Select, filters: Filters) -> Select:
    if filters.zone_id is not None:
        query = query.where(Enterprise.zone_id == filters.zone_id)
    if filters.enterprise_id is not None:
        query = query.where(Enterprise.id == filters.enterprise_id)
    return query


def _last_events(device_ids: DeviceIds) -> dict[int, datetime]:
    latest = (
        select(GateEvent.occurred_at)
        .where(GateEvent.device_id == Device.id, GateEvent.seq.is_not(None))
        .order_by(GateEvent.seq_epoch.desc(), GateEvent.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = db.session.execute(select(Device.id, latest).where(Device.id.in_(device_ids)))
    return {device_id: at for device_id, at in rows if at is not None}


def _grouped_counts(query: Select) -> dict[int, float]:
    return {key: value or 0 for key, value in db.session.execute(query)}


def _last_digital_records(user: User, filters: Filters) -> dict[int, datetime | None]:
    """Each enterprise's latest record from a tablet or a phone; paper backfill does not count."""
    latest = (
        select(func.max(GateEvent.occurred_at))
        .where(GateEvent.enterprise_id == Enterprise.id, GateEvent.method != "paper")
        .scalar_subquery()
    )
    query = _filtered(select(Enterprise.id, latest).where(scope_clause(Enterprise, user)), filters)
    return dict(db.session.execute(query).all())


def _place(row: Any) -> dict[str, Any]:
    """Where a tablet or an untabled gate stands, from a row carrying the _GATE_COLUMNS."""
    return {
        "enterprise_id": row.enterprise_id,
        "enterprise_name": row.enterprise_name,
        "zone_id": row.zone_id,
        "zone_name": row.zone_name or "",
        "gate_id": row.gate_id,
        "gate_name": f"{row.gate_code} · {row.gate_name}",
    }


def sync_health(
    user: User, *, now: datetime, thresholds: Thresholds, filters: Filters = Filters()
) -> HealthReport:
    """Every tablet (and every gate without one) the user may see, with roll-ups.

    What each tablet sent lately is left out: `with_activity` adds it to the tablets a page
    shows, since a page of a hundred need not read it for two thousand.
    """
    rows = db.session.execute(_scoped_devices(user, filters)).all()
    device_ids = _scoped_device_ids(user, filters)
    gaps = missing_ranges(device_ids)
    wipes = wipes_seen(
        rows,
        device_ids,
        now=now,
        silent_after=timedelta(minutes=thresholds.lagging_after_minutes),
    )
    tablets = []
    for row in rows:
        missing = range_size(gaps.get(row.id, ()))
        status, reasons = device_status(
            row, now=now, thresholds=thresholds, missing=missing, wipe=wipes.get(row.id)
        )
        skew = row.last_skew_seconds
        tablets.append(
            TabletHealth(
                device_id=row.id,
                label=row.label,
                **_place(row),
                status=status,
                reasons=reasons,
                last_sync_at=row.last_sync_at,
                backlog=row.reported_backlog,
                oldest_pending_age=_pending_age(row, now),
                missing=missing,
                skew_seconds=skew,
                skew_flagged=skew is not None and abs(skew) > thresholds.skew_flag_seconds,
                app_version=row.app_version,
                revoked_at=row.revoked_at,
            )
        )
    gates = db.session.execute(
        _filtered(
            select(*_GATE_COLUMNS)
            .join(Enterprise, Enterprise.id == Gate.enterprise_id)
            .outerjoin(Zone, Zone.id == Enterprise.zone_id)
            .where(scope_clause(Gate, user), Gate.active.is_(True)),
            filters,
        )
    ).all()
    with_tablet = {t.gate_id for t in tablets}
    for gate in gates:
        if gate.gate_id not in with_tablet:
            tablets.append(
                TabletHealth(
                    device_id=None,
                    label="",
                    **_place(gate),
                    status=NEVER,
                    reasons=[Reason("no_tablet")],
                )
            )
    enterprises, zones = _rollups(user, filters, tablets, gates, now=now, thresholds=thresholds)
    shown = (
        [t for t in tablets if _matches(t, filters)] if filters.status or filters.text else tablets
    )
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for tablet in shown:
        counts[tablet.status] += 1
    return HealthReport(tablets=shown, enterprises=enterprises, zones=zones, counts=counts)


def with_activity(tablets: Sequence[TabletHealth], *, now: datetime) -> None:
    """Fill in each tablet's latest record, quarantined records and records per day."""
    device_ids = [t.device_id for t in tablets if t.device_id is not None]
    if not device_ids:
        return
    last_events = _last_events(device_ids)
    quarantined = _grouped_counts(
        select(QuarantinedEvent.device_id, func.count(QuarantinedEvent.id))
        .where(QuarantinedEvent.device_id.in_(device_ids))
        .group_by(QuarantinedEvent.device_id)
    )
    received = _grouped_counts(
        select(SyncBatch.device_id, func.sum(SyncBatch.accepted))
        .where(
            SyncBatch.device_id.in_(device_ids),
            SyncBatch.received_at >= now - EVENTS_PER_DAY_WINDOW,
        )
        .group_by(SyncBatch.device_id)
    )
    days = EVENTS_PER_DAY_WINDOW / timedelta(days=1)
    for tablet in tablets:
        if tablet.device_id is not None:
            tablet.last_event_at = last_events.get(tablet.device_id)
            tablet.quarantined = int(quarantined.get(tablet.device_id, 0))
            tablet.events_per_day = round(received.get(tablet.device_id, 0) / days, 1)


def _matches(tablet: TabletHealth, filters: Filters) -> bool:
    if filters.status and tablet.status != filters.status:
        return False
    needle = filters.text.strip().casefold()
    haystack = f"{tablet.enterprise_name} {tablet.gate_name} {tablet.label} {tablet.zone_name}"
    return not needle or needle in haystack.casefold()


def _rollups(
    user: User,
    filters: Filters,
    tablets: list[TabletHealth],
    gates: Sequence,
    *,
    now: datetime,
    thresholds: Thresholds,
) -> tuple[list[Rollup], list[Rollup]]:
    synced_after = now - timedelta(minutes=thresholds.lagging_after_minutes)
    by_gate: dict[int, list[TabletHealth]] = defaultdict(list)
    for tablet in tablets:
        by_gate[tablet.gate_id].append(tablet)
    gate_status = {
        gate_id: _best([t.status for t in items], NEVER) for gate_id, items in by_gate.items()
    }
    synced_gates = {
        gate_id
        for gate_id, items in by_gate.items()
        if any(
            t.revoked_at is None and t.last_sync_at is not None and t.last_sync_at >= synced_after
            for t in items
        )
    }
    last_records = _last_digital_records(user, filters)
    paper_cutoff = now - timedelta(days=thresholds.paper_after_days)
    enterprise_rows = db.session.execute(
        _filtered(
            select(Enterprise.id, Enterprise.name, Enterprise.zone_id, Zone.name.label("zone_name"))
            .outerjoin(Zone, Zone.id == Enterprise.zone_id)
            .where(scope_clause(Enterprise, user)),
            filters,
        )
    ).all()
    enterprises: dict[int, Rollup] = {}
    for enterprise in enterprise_rows:
        last = last_records.get(enterprise.id)
        enterprises[enterprise.id] = Rollup(
            key=enterprise.id,
            name=enterprise.name,
            zone_name=enterprise.zone_name or "",
            last_record_at=last,
            is_on_paper=last is None or last < paper_cutoff,
            enterprises=1,
        )
    statuses: dict[int, list[str]] = defaultdict(list)
    for gate in gates:
        rollup = enterprises[gate.enterprise_id]
        rollup.gates += 1
        rollup.gates_synced += gate.gate_id in synced_gates
        statuses[gate.enterprise_id].append(gate_status.get(gate.gate_id, NEVER))
    zones: dict[int | None, Rollup] = {}
    zone_statuses: dict[int | None, list[str]] = defaultdict(list)
    zone_ids = {e.id: e.zone_id for e in enterprise_rows}
    for enterprise_id, rollup in enterprises.items():
        rollup.status = _worst(statuses[enterprise_id], NEVER)
        rollup.on_paper = int(rollup.is_on_paper)
        zone_id = zone_ids[enterprise_id]
        zone = zones.setdefault(zone_id, Rollup(key=zone_id, name=rollup.zone_name))
        zone.gates += rollup.gates
        zone.gates_synced += rollup.gates_synced
        zone.enterprises += 1
        zone.on_paper += rollup.on_paper
        zone_statuses[zone_id].append(rollup.status)
    for zone_id, zone in zones.items():
        zone.status = _worst(zone_statuses[zone_id], NEVER)
    ordered_zones = sorted(zones.values(), key=lambda z: (z.key is None, z.name))
    return sorted(enterprises.values(), key=lambda e: e.name), ordered_zones


def gate_statuses(tablets: Iterable[TabletHealth]) -> dict[int, str]:
    by_gate: dict[int, list[str]] = defaultdict(list)
    for tablet in tablets:
        by_gate[tablet.gate_id].append(tablet.status)
    return {gate_id: _best(items, NEVER) for gate_id, items in by_gate.items()}


@dataclass(frozen=True)
class LagChart:
    buckets: list[tuple[str, int]]
    total: int
    median_seconds: float | None
    p95_seconds: float | None


def lag_chart(enterprise_id: int, *, now: datetime) -> LagChart:
    """How long the latest tablet records of the last 30 days took to reach the server."""
    rows = db.session.execute(
        select(GateEvent.received_at, GateEvent.occurred_at)
        .where(
            GateEvent.enterprise_id == enterprise_id,
            GateEvent.occurred_at >= now - LAG_WINDOW,
            GateEvent.device_id.is_not(None),
        )
        .order_by(GateEvent.occurred_at.desc())
        .limit(LAG_SAMPLE)
    )
    lags = sorted(max((received - occurred).total_seconds(), 0.0) for received, occurred in rows)
    counts = [0] * len(LAG_BUCKETS)
    for lag in lags:
        counts[next(i for i, (bound, _) in enumerate(LAG_BUCKETS) if lag < bound)] += 1
    return LagChart(
        buckets=[(label, count) for (_, label), count in zip(LAG_BUCKETS, counts, strict=True)],
        total=len(lags),
        median_seconds=_percentile(lags, 0.5),
        p95_seconds=_percentile(lags, 0.95),
    )


def _percentile(ordered: list[float], fraction: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass(frozen=True)
class TabletHistory:
    batches: list[SyncBatch]
    total_batches: int
    gaps: list[tuple[int, int]]
    quarantined: list[QuarantinedEvent]


def tablet_history(device: Device, *, page: int, per_page: int) -> TabletHistory:
    """A tablet's pushes, newest first, its gaps and what the server quarantined from it."""
    batches = db.session.scalars(
        select(SyncBatch)
        .where(SyncBatch.device_id == device.id)
        .order_by(SyncBatch.received_at.desc(), SyncBatch.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    total = db.session.scalar(
        select(func.count(SyncBatch.id)).where(SyncBatch.device_id == device.id)
    )
    quarantined = db.session.scalars(
        select(QuarantinedEvent)
        .where(QuarantinedEvent.device_id == device.id)
        .order_by(QuarantinedEvent.received_at.desc())
        .limit(50)
    ).all()
    return TabletHistory(
        batches=list(batches),
        total_batches=total or 0,
        gaps=missing_ranges([device.id]).get(device.id, []),
        quarantined=list(quarantined),
    )
