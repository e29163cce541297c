"""Verbs of the roster: workers, badges and roster imports of the acting HR user's enterprise.

Every change stamps the worker with the next roster version so the gates pull it; every view of
a person's details, export, import and reissue is written to the audit log.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select, delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from server import phones
from server.access import scoped
from server.audit import record_audit
from server.clock import local_today
from server.extensions import db
from server.hr.roster import importer, normalise
from server.models import RosterImport, User, Worker
from server.provinces import province_name
from server.roster import mark_changed, reserve_roster_versions, unused_badge_token
from server.text import digits, fold
from server.tokens import new_token

PAGE_SIZE = 50
MAX_BADGES = 500
LOOKUP_SLICE = 900
# A dry run is meant to be committed within minutes; older ones are dropped, with their cells.
IMPORT_LIFETIME = timedelta(hours=2)
EDITABLE_COLUMNS = ("employee_code", *importer.WORKER_COLUMNS)


class RosterError(ValueError):
    """A change the roster refuses; `code` names why for the page."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class RosterFilter:
    q: str = ""
    department: str = ""
    status: str = "active"


def roster_query(user: User, filters: RosterFilter) -> Select[Worker]:
    """The user's workers matching `filters`: name without accents, code, phone or department."""
    query = scoped(Worker, user)
    if filters.status == "active":
        query = query.where(Worker.active.is_(True))
    elif filters.status == "inactive":
        query = query.where(Worker.active.is_(False))
    if filters.department:
        query = query.where(Worker.department == filters.department)
    term = filters.q.strip()
    if term:
        matches = [
            Worker.search_name.contains(fold(term), autoescape=True),
            Worker.employee_code.icontains(term, autoescape=True),
            Worker.department.icontains(term, autoescape=True),
        ]
        number = digits(term)
        if len(number) >= 3 and len(number) >= len(term.replace(" ", "")) - 3:
            # "+84 912…", "0912…" and a retired "0168…" are searched as stored.
            matches.append(Worker.phone.contains(phones.key(term), autoescape=True))
        query = query.where(or_(*matches))
    return query.order_by(Worker.employee_code)


def roster_page(user: User, filters: RosterFilter, page: int) -> Pagination:
    return db.paginate(roster_query(user, filters), page=page, per_page=PAGE_SIZE, error_out=False)


def departments(user: User) -> list[str]:
    query = scoped(Worker, user).with_only_columns(Worker.department).distinct()
    return sorted(name for name in db.session.scalars(query) if name)


def record_view(actor: User, worker: Worker, *, now: datetime, ip: str) -> None:
    """Audit that `actor` opened `worker`'s personal details."""
    _audit(actor, "worker.view", worker, now=now, ip=ip)


def create_worker(actor: User, values: dict[str, Any], *, now: datetime, ip: str) -> Worker:
    worker = Worker(
        enterprise_id=actor.enterprise_id,
        badge_token=unused_badge_token(),
        created_at=now,
        updated_at=now,
    )
    with _refusing("duplicate_code"):
        _assign(worker, values)
        db.session.add(worker)
        _save(worker, now=now)
        _audit(actor, "worker.create", worker, now=now, ip=ip)
    return worker


def update_worker(
    actor: User, worker: Worker, values: dict[str, Any], *, now: datetime, ip: str
) -> list[str]:
    """Apply the edit form's values; returns the names of the fields that changed."""
    with _refusing("duplicate_code"):
        changed = _assign(worker, values)
        if changed:
            _save(worker, now=now)
            _audit(actor, "worker.update", worker, now=now, ip=ip, fields=changed)
    return changed


def set_active(actor: User, worker: Worker, active: bool, *, now: datetime, ip: str) -> None:
    """Deactivate or reactivate; workers are never deleted, their gate records point at them."""
    if worker.active == active:
        return
    worker.active = active
    _save(worker, now=now)
    _audit(actor, "worker.activate" if active else "worker.deactivate", worker, now=now, ip=ip)


def reissue_badge(actor: User, worker: Worker, *, now: datetime, ip: str) -> None:
    """A new badge token; gates forget the old one at their next roster pull."""
    worker.badge_token = unused_badge_token()
    _save(worker, now=now)
    _audit(actor, "badge.reissue", worker, now=now, ip=ip)


def printed_badges(
    actor: User, worker_ids: list[int], filters: RosterFilter | None, *, now: datetime, ip: str
) -> list[Worker]:
    """The workers whose badges go on a print sheet (chosen ids, else the filter), audited."""
    query = roster_query(actor, filters or RosterFilter())
    if worker_ids:
        query = query.where(Worker.id.in_(worker_ids[:MAX_BADGES]))
    workers = list(db.session.scalars(query.limit(MAX_BADGES)))
    record_audit(
        actor,
        "badge.print",
        now=now,
        target_type="worker",
        target_id=workers[0].id if len(workers) == 1 else "",
        enterprise_id=actor.enterprise_id,
        ip=ip,
        details={"count": len(workers)},
    )
    return workers


EXPORT_COLUMNS = (
    (_l("Employee code"), lambda w: w.employee_code),
    (_l("Full name"), lambda w: w.full_name),
    (_l("Phone"), lambda w: w.phone),
    (_l("ID card number"), lambda w: w.national_id),
    (_l("Date of birth"), lambda w: w.date_of_birth or w.birth_year),
    (_l("Sex"), lambda w: {"F": _l("Female"), "M": _l("Male")}.get(w.sex, "")),
    (_l("Department"), lambda w: w.department),
    (_l("Home province"), lambda w: province_name(w.home_province_code)),
    (_l("Home province as written"), lambda w: w.home_province_raw),
    (_l("Permanent residence"), lambda w: w.permanent_address),
    (_l("Current address"), lambda w: w.current_address),
    (_l("Active"), lambda w: 1 if w.active else 0),
)


def export_roster(
    actor: User, filters: RosterFilter, *, fmt: str, now: datetime, ip: str
) -> Iterator[list[Any]]:
    """Audit the export, then hand back its rows, read lazily while the download streams."""
    record_audit(
        actor,
        "roster.export",
        now=now,
        enterprise_id=actor.enterprise_id,
        ip=ip,
        details={
            "format": fmt,
            "q": filters.q,
            "department": filters.department,
            "status": filters.status,
        },
    )
    query = roster_query(actor, filters).execution_options(yield_per=500)

    def rows() -> Iterator[list[Any]]:
        # A generator runs only once the download starts, in the session that lives as long.
        for worker in db.session.scalars(query):
            yield [getter(worker) for _title, getter in EXPORT_COLUMNS]

    return rows()


def export_header() -> list[str]:
    return [str(title) for title, _getter in EXPORT_COLUMNS]


def stage_import(
    actor: User, filename: str, sheet: importer.ParsedSheet, *, now: datetime
) -> RosterImport:
    """Keep a read file's cells on the server for its dry run and commit; drop stale ones."""
    db.session.execute(
        delete(RosterImport).where(
            RosterImport.enterprise_id == actor.enterprise_id,
            RosterImport.created_at < now - IMPORT_LIFETIME,
        )
    )
    staged = RosterImport(
        key=secrets.token_urlsafe(24),
        enterprise_id=actor.enterprise_id,
        user_id=actor.id,
        filename=filename[:200],
        created_at=now,
        rows=sheet.rows,
        layout=asdict(sheet.layout),
    )
    db.session.add(staged)
    return staged


def staged_import(actor: User, key: str, *, now: datetime) -> RosterImport:
    """The actor's own uncommitted, unexpired staged file, or RosterError."""
    staged = db.session.scalar(
        scoped(RosterImport, actor).where(
            RosterImport.key == key,
            RosterImport.user_id == actor.id,
            RosterImport.created_at >= now - IMPORT_LIFETIME,
        )
    )
    if staged is None:
        raise RosterError("import_expired")
    if staged.committed_at is not None:
        raise RosterError("import_done")
    return staged


def plan_import(
    actor: User, staged: RosterImport, *, now: datetime, timezone: str
) -> importer.Plan:
    codes = sorted(
        {normalise.text(row["cells"].get("employee_code")).upper() for row in staged.rows}
    )
    existing = {}
    # In slices: SQLite caps the parameters of one statement.
    for start in range(0, len(codes), LOOKUP_SLICE):
        chunk = codes[start : start + LOOKUP_SLICE]
        query = scoped(Worker, actor).where(Worker.employee_code.in_(chunk))
        existing.update({worker.employee_code: worker for worker in db.session.scalars(query)})
    return importer.plan(staged.rows, existing, today=local_today(now, timezone))


def commit_import(
    actor: User, key: str, *, now: datetime, timezone: str, ip: str
) -> tuple[RosterImport, importer.Plan]:
    """Create and update what the plan says, all in one transaction, planned again right now."""
    staged = staged_import(actor, key, now=now)
    claimed = db.session.execute(
        update(RosterImport)
        .where(RosterImport.id == staged.id, RosterImport.committed_at.is_(None))
        .values(committed_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise RosterError("import_done")
    with _refusing("roster_changed"):
        plan = _apply_import(actor, staged, now=now, timezone=timezone, ip=ip)
    return staged, plan


def _apply_import(
    actor: User, staged: RosterImport, *, now: datetime, timezone: str, ip: str
) -> importer.Plan:
    plan = plan_import(actor, staged, now=now, timezone=timezone)
    # The cells hold personal data that the roster now holds itself: keep no second copy.
    staged.rows = []
    writes = plan.writes
    # One counter bump, one token check and one flush for the whole file: per-row round trips
    # made a 5,000-line import take most of a minute.
    versions = reserve_roster_versions(staged.enterprise_id, len(writes)) if writes else range(0)
    tokens = iter(_fresh_badge_tokens(plan.count("create")))
    for version, row in zip(versions, writes, strict=True):
        if row.action == "create":
            worker = Worker(
                enterprise_id=actor.enterprise_id, badge_token=next(tokens), created_at=now
            )
            _assign(worker, row.values)
            db.session.add(worker)
        else:
            # Loaded by the plan, in this transaction: the session hands back the same row.
            worker = db.session.get_one(Worker, row.worker_id)
            _assign(worker, {name: row.values[name] for name in row.changes})
        worker.updated_at = now
        worker.roster_version = version
    record_audit(
        actor,
        "roster.import",
        now=now,
        enterprise_id=actor.enterprise_id,
        ip=ip,
        details={
            "filename": staged.filename,
            "created": plan.count("create"),
            "updated": plan.count("update"),
            "refused": plan.count("refused"),
        },
    )
    return plan


def _fresh_badge_tokens(count: int) -> list[str]:
    """`count` distinct badge tokens no worker holds, checked in a few queries."""
    tokens: set[str] = set()
    while len(tokens) < count:
        wanted = {new_token() for _ in range(count - len(tokens))} - tokens
        candidates = sorted(wanted)
        for start in range(0, len(candidates), LOOKUP_SLICE):
            chunk = candidates[start : start + LOOKUP_SLICE]
            wanted -= set(
                db.session.scalars(select(Worker.badge_token).where(Worker.badge_token.in_(chunk)))
            )
        tokens |= wanted
    return list(tokens)


def _assign(worker: Worker, values: dict[str, Any]) -> list[str]:
    changed = []
    for name in EDITABLE_COLUMNS:
        if name in values and getattr(worker, name) != values[name]:
            setattr(worker, name, values[name])
            changed.append(name)
    worker.search_name = fold(worker.full_name)
    return changed


def _save(worker: Worker, *, now: datetime) -> None:
    worker.updated_at = now
    db.session.flush()
    mark_changed(worker)


def _audit(
    actor: User, action: str, worker: Worker, *, now: datetime, ip: str, **details: Any
) -> None:
    record_audit(
        actor,
        action,
        now=now,
        target_type="worker",
        target_id=worker.id,
        enterprise_id=worker.enterprise_id,
        ip=ip,
        details=details,
    )


@contextmanager
def _refusing(code: str) -> Iterator[None]:
    """Write what the block changed; a unique index refusing it becomes RosterError(code).

    The refused write is undone with everything else in the unit of work, so the caller
    answers a refusal with nothing half-stored.
    """
    # The unique (enterprise, employee code) index is the last word when two people save at once.
    try:
        yield
        db.session.flush()
    except IntegrityError as error:
        db.session.rollback()
        raise RosterError(code) from error
