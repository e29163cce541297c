"""The labour department's reports: workers by home province, and who has likely gone home."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, case, func, or_, select, true

from server.access import scope_clause, scoped
from server.audit import record_audit
from server.extensions import db
from server.models import DailyGateCount, Enterprise, SentList, User, Worker, Zone
from server.presence import with_last_passage
from server.provinces import PROVINCE_SHORT_NAMES, province_name, resolve

UNKNOWN = None  # the row of workers whose home province could not be read


def legacy_province(raw: str) -> str:
    """The province the text names as imported ("Hà Tây", "Bắc Giang"), or the text itself."""
    return resolve(raw).former or raw.strip()


@dataclass(frozen=True)
class Column:
    key: tuple[str, int | None]
    name: str
    inside_zone: bool


@dataclass
class ProvinceRow:
    code: int | None
    name: str
    legacy: dict[str, int] = field(default_factory=dict)
    cells: dict[tuple[str, int | None], int] = field(default_factory=dict)
    inside: int = 0
    outside: int = 0
    women: int = 0

    @property
    def total(self) -> int:
        return self.inside + self.outside


@dataclass
class ProvinceReport:
    columns: list[Column]
    rows: list[ProvinceRow]
    totals: ProvinceRow


@dataclass(frozen=True)
class Scope:
    zone_id: int | None = None
    enterprise_id: int | None = None
    by: str = "zone"  # or "enterprise": what the report's columns are


def _scoped_workers(user: User, scope: Scope) -> Select:
    query = (
        select(Worker)
        .join(Enterprise, Enterprise.id == Worker.enterprise_id)
        .where(scope_clause(Worker, user), Worker.active.is_(True))
    )
    if scope.zone_id is not None:
        query = query.where(Enterprise.zone_id == scope.zone_id)
    if scope.enterprise_id is not None:
        query = query.where(Enterprise.id == scope.enterprise_id)
    return query


def province_report(user: User, scope: Scope) -> ProvinceReport:
    """Active workers counted by home province, in columns per zone (or enterprise)."""
    column_key = Enterprise.id if scope.by == "enterprise" else Enterprise.zone_id
    column_name = Enterprise.name if scope.by == "enterprise" else Zone.name
    # Counted per enterprise first, in the order of ix_worker_enterprise_home_province, which
    # holds every column read: the workers' wide rows are never visited, nor sorted.
    per_enterprise = (
        _scoped_workers(user, scope)
        .with_only_columns(
            Worker.enterprise_id,
            Worker.home_province_code,
            Worker.home_province_raw,
            func.count().label("workers"),
            func.sum(case((Worker.sex == "F", 1), else_=0)).label("women"),
        )
        .group_by(Worker.enterprise_id, Worker.home_province_code, Worker.home_province_raw)
        .subquery()
    )
    counted = per_enterprise.c
    counts = (
        select(
            counted.home_province_code,
            counted.home_province_raw,
            column_key,
            column_name,
            Enterprise.zone_id,
            func.sum(counted.workers),
            func.sum(counted.women),
        )
        .join_from(per_enterprise, Enterprise, Enterprise.id == counted.enterprise_id)
        .outerjoin(Zone, Zone.id == Enterprise.zone_id)
        .group_by(
            counted.home_province_code,
            counted.home_province_raw,
            column_key,
            column_name,
            Enterprise.zone_id,
        )
    )
    rows: dict[int | None, ProvinceRow] = {}
    columns: dict[tuple[str, int | None], Column] = {}
    totals = ProvinceRow(code=None, name="")
    for code, raw, key, name, zone_id, summed, women in db.session.execute(counts):
        count = int(summed)  # PostgreSQL sums counts as numeric
        inside = zone_id is not None
        column = ("in" if inside else "out", key if inside or scope.by == "enterprise" else None)
        columns.setdefault(column, Column(column, name or "", inside))
        row = rows.setdefault(code, ProvinceRow(code=code, name=province_name(code)))
        for target in (row, totals):
            target.cells[column] = target.cells.get(column, 0) + count
            target.women += int(women or 0)
            if inside:
                target.inside += count
            else:
                target.outside += count
        legacy = legacy_province(raw)
        if legacy:
            row.legacy[legacy] = row.legacy.get(legacy, 0) + count
    ordered = [rows[code] for code in PROVINCE_SHORT_NAMES if code in rows]
    ordered.sort(key=lambda r: (-r.total, r.name))
    if UNKNOWN in rows:
        ordered.append(rows[UNKNOWN])
    ordered_columns = sorted(columns.values(), key=lambda c: (not c.inside_zone, c.name))
    return ProvinceReport(columns=ordered_columns, rows=ordered, totals=totals)


@dataclass(frozen=True)
class ListedWorker:
    province_code: int | None
    full_name: str
    phone: str
    permanent_address: str
    home_province_raw: str
    enterprise: str
    department: str
    last_seen: datetime | None
    last_direction: str | None = None
    worker_id: int | None = None


def _listed(
    user: User,
    scope: Scope,
    provinces: Sequence[int | None] | None,
    gone_home_before: datetime | None,
) -> Select:
    """The scope's active workers with their last passage, filtered as `worker_list` says."""
    query, latest, direction = with_last_passage(_scoped_workers(user, scope), Worker.id)
    query = query.with_only_columns(
        Worker.home_province_code,
        Worker.full_name,
        Worker.phone,
        Worker.permanent_address,
        Worker.home_province_raw,
        Enterprise.name,
        Worker.department,
        latest,
        direction,
        Worker.id,
    )
    if provinces is not None:
        known = [code for code in provinces if code is not None]
        clause: ColumnElement[bool] = Worker.home_province_code.in_(known)
        if UNKNOWN in provinces:
            clause = clause | Worker.home_province_code.is_(None)
        query = query.where(clause)
    if gone_home_before is not None:
        query = query.where(latest < gone_home_before, direction == "out")
    return query


def worker_list(
    user: User,
    scope: Scope,
    *,
    provinces: Sequence[int | None] | None = None,
    gone_home_before: datetime | None = None,
) -> Iterator[ListedWorker]:
    """The detailed list, by province then name; optionally only those likely gone home."""
    query = _listed(user, scope, provinces, gone_home_before).order_by(
        Worker.home_province_code.is_(None),
        Worker.home_province_code,
        Worker.search_name,
        Worker.id,
    )
    # Executed now, read lazily: a streamed download reads the rows after the view returned.
    return (ListedWorker(*row) for row in db.session.execute(query))


@dataclass(frozen=True)
class GoneHomeRow:
    code: int | None
    name: str
    count: int


def gone_home_by_province(user: User, scope: Scope, *, before: datetime) -> list[GoneHomeRow]:
    """Active workers whose last record is an exit older than `before`, by home province."""
    listed = _listed(user, scope, None, before).subquery()
    counts = db.session.execute(
        select(listed.c.home_province_code, func.count()).group_by(listed.c.home_province_code)
    )
    rows = [GoneHomeRow(code, province_name(code), n) for code, n in counts]
    return sorted(rows, key=lambda r: (r.code is None, -r.count, r.name))


def record_export(
    actor: User, action: str, scope: Scope, *, now: datetime, ip: str, **details: object
) -> None:
    """Write that personal data left the system; the request commits it before the download."""
    record_audit(
        actor,
        action,
        now=now,
        target_type="enterprise" if scope.enterprise_id else "zone" if scope.zone_id else "",
        target_id=scope.enterprise_id or scope.zone_id or "",
        enterprise_id=scope.enterprise_id,
        ip=ip,
        details={"zone_id": scope.zone_id, **details},
    )


def zones_and_enterprises(user: User) -> tuple[list[Zone], list[Enterprise]]:
    """What the report's filters may offer this user."""
    zones = db.session.scalars(scoped(Zone, user).order_by(Zone.name)).all()
    enterprises = db.session.scalars(scoped(Enterprise, user).order_by(Enterprise.name)).all()
    return list(zones), list(enterprises)


@dataclass(frozen=True)
class PurgedDay:
    """One local day of an enterprise whose gate records the retention purge let go."""

    day: date
    enterprise: str
    entries: int
    exits: int
    workers: int
    others: int  # visitors and people never resolved


def purged_days(user: User, scope: Scope, *, limit: int = 400) -> list[PurgedDay]:
    """The daily counts kept after a purge, newest first: the only record left of those days."""
    query = (
        select(
            DailyGateCount.day,
            Enterprise.name,
            func.sum(case((DailyGateCount.direction == "in", DailyGateCount.count), else_=0)),
            func.sum(case((DailyGateCount.direction == "out", DailyGateCount.count), else_=0)),
            func.sum(
                case((DailyGateCount.subject_kind == "worker", DailyGateCount.count), else_=0)
            ),
            func.sum(
                case((DailyGateCount.subject_kind != "worker", DailyGateCount.count), else_=0)
            ),
        )
        .join(Enterprise, Enterprise.id == DailyGateCount.enterprise_id)
        .where(scope_clause(DailyGateCount, user))
        .group_by(DailyGateCount.day, Enterprise.id, Enterprise.name)
        .order_by(DailyGateCount.day.desc(), Enterprise.name)
        .limit(limit)
    )
    if scope.zone_id is not None:
        query = query.where(Enterprise.zone_id == scope.zone_id)
    if scope.enterprise_id is not None:
        query = query.where(Enterprise.id == scope.enterprise_id)
    return [
        PurgedDay(
            day, name, int(entries or 0), int(exits or 0), int(workers or 0), int(others or 0)
        )
        for day, name, entries, exits, workers, others in db.session.execute(query)
    ]


def send_list(
    actor: User, scope: Scope, province_code: int, recipient: str, *, now: datetime
) -> tuple[SentList, list[ListedWorker]]:
    """Record that this province's list goes to `recipient` now (Decree 13's transfer record)."""
    workers = list(worker_list(actor, scope, provinces=[province_code]))
    sent = SentList(
        province_code=province_code,
        zone_id=scope.zone_id,
        enterprise_id=scope.enterprise_id,
        recipient=recipient,
        sent_at=now,
        user_id=actor.id,
        rows=len(workers),
        worker_ids=[w.worker_id for w in workers],
    )
    db.session.add(sent)
    db.session.flush()
    record_audit(
        actor,
        "board.list_sent",
        now=now,
        target_type="sent_list",
        target_id=sent.id,
        enterprise_id=scope.enterprise_id,
        details={
            "province": province_code,
            "recipient": recipient,
            "rows": len(workers),
            "zone_id": scope.zone_id,
        },
    )
    return sent, workers


def _sent_lists_visible_to(user: User) -> ColumnElement[bool]:
    if user.role == "admin":
        return true()
    zone_ids = [zone.id for zone in user.zones]
    return or_(SentList.user_id == user.id, SentList.zone_id.in_(zone_ids))


def sent_lists(user: User, *, limit: int = 500) -> list[tuple[SentList, str]]:
    """The lists sent, newest first, with who sent each."""
    query = (
        select(SentList, User.username)
        .join(User, User.id == SentList.user_id)
        .where(_sent_lists_visible_to(user))
        .order_by(SentList.sent_at.desc(), SentList.id.desc())
        .limit(limit)
    )
    return [(sent, username) for sent, username in db.session.execute(query)]


@dataclass(frozen=True)
class LeftWorker:
    full_name: str
    enterprise: str
    reason: str  # "inactive" (left the enterprise) or "moved" (another home province now)


@dataclass(frozen=True)
class ListChanges:
    since: SentList | None
    new: list[ListedWorker]
    left: list[LeftWorker]
    gone_home: list[ListedWorker]


def changes_since_sent(
    user: User, scope: Scope, province_code: int, *, gone_home_before: datetime
) -> ListChanges:
    """Who is new on the province's list, who left it, and who is likely gone home, since the
    list of the same scope was last sent."""
    since = db.session.scalars(
        select(SentList)
        .where(
            SentList.province_code == province_code,
            SentList.zone_id.is_(None)
            if scope.zone_id is None
            else SentList.zone_id == scope.zone_id,
            SentList.enterprise_id.is_(None)
            if scope.enterprise_id is None
            else SentList.enterprise_id == scope.enterprise_id,
            _sent_lists_visible_to(user),
        )
        .order_by(SentList.sent_at.desc(), SentList.id.desc())
        .limit(1)
    ).first()
    current = list(worker_list(user, scope, provinces=[province_code]))
    sent_ids = set(since.worker_ids) if since else set()
    left_ids = sent_ids - {w.worker_id for w in current}
    left = [
        LeftWorker(name, enterprise, "inactive" if not active else "moved")
        for name, enterprise, active in db.session.execute(
            select(Worker.full_name, Enterprise.name, Worker.active)
            .join(Enterprise, Enterprise.id == Worker.enterprise_id)
            .where(scope_clause(Worker, user), Worker.id.in_(left_ids))
            .order_by(Worker.search_name, Worker.id)
        )
    ]
    gone_home = list(
        worker_list(user, scope, provinces=[province_code], gone_home_before=gone_home_before)
    )
    return ListChanges(
        since=since,
        new=[w for w in current if w.worker_id not in sent_ids] if since else current,
        left=left,
        gone_home=gone_home,
    )
