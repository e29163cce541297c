"""Visitor pre-registration: a pass valid for a stated window, revocable, pulled by the gates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Select

from server.access import scoped
from server.audit import record_audit
from server.extensions import db
from server.models import User, Visitor, VisitorPass
from server.roster import mark_changed
from server.tokens import new_token

PAGE_SIZE = 50
STATUSES = ("current", "expired", "revoked", "all")


@dataclass(frozen=True)
class PassRequest:
    full_name: str
    phone: str | None
    organisation: str
    purpose: str
    host: str
    valid_from: datetime
    valid_until: datetime


def pass_query(user: User, status: str, *, now: datetime) -> Select[VisitorPass]:
    query = scoped(VisitorPass, user).join(VisitorPass.visitor)
    if status == "current":
        query = query.where(VisitorPass.active.is_(True), VisitorPass.valid_until > now)
    elif status == "expired":
        query = query.where(VisitorPass.active.is_(True), VisitorPass.valid_until <= now)
    elif status == "revoked":
        query = query.where(VisitorPass.active.is_(False))
    return query.order_by(VisitorPass.valid_from.desc(), VisitorPass.id.desc())


def pass_page(user: User, status: str, page: int, *, now: datetime) -> Pagination:
    query = pass_query(user, status, now=now)
    return db.paginate(query, page=page, per_page=PAGE_SIZE, error_out=False)


def register_visitor(actor: User, request: PassRequest, *, now: datetime, ip: str) -> VisitorPass:
    """A visitor and their pass, sent to the gates at their next roster pull."""
    visitor = Visitor(
        enterprise_id=actor.enterprise_id,
        full_name=request.full_name,
        phone=request.phone,
        organisation=request.organisation,
        created_at=now,
    )
    # 100 random bits: a clash is not a practical event, and the unique index would refuse it.
    visitor_pass = VisitorPass(
        enterprise_id=actor.enterprise_id,
        visitor=visitor,
        token=new_token(),
        valid_from=request.valid_from,
        valid_until=request.valid_until,
        purpose=request.purpose,
        host=request.host,
        created_at=now,
    )
    db.session.add(visitor_pass)
    db.session.flush()
    mark_changed(visitor_pass)
    _audit(actor, "pass.create", visitor_pass, now=now, ip=ip)
    return visitor_pass


def record_view(actor: User, visitor_pass: VisitorPass, *, now: datetime, ip: str) -> None:
    _audit(actor, "pass.view", visitor_pass, now=now, ip=ip)


def revoke(actor: User, visitor_pass: VisitorPass, *, now: datetime, ip: str) -> None:
    """The pass stops opening the gate at each tablet's next roster pull."""
    if not visitor_pass.active:
        return
    visitor_pass.active = False
    mark_changed(visitor_pass)
    _audit(actor, "pass.revoke", visitor_pass, now=now, ip=ip)


def _audit(actor: User, action: str, visitor_pass: VisitorPass, *, now: datetime, ip: str) -> None:
    record_audit(
        actor,
        action,
        now=now,
        target_type="visitor_pass",
        target_id=visitor_pass.id,
        enterprise_id=visitor_pass.enterprise_id,
        ip=ip,
    )
