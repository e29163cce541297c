"""What HR changes and reads about self check-in: posters, declaration questions, the log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from server.access import scope_clause, scoped
from server.audit import record_audit
from server.checkin.services import adopt_first_poster
from server.extensions import db
from server.models import (
    DeclarationAnswer,
    DeclarationQuestion,
    Gate,
    GateEvent,
    GatePoster,
    SelfCheckin,
    User,
    Visitor,
    Worker,
)
from server.tokens import new_token

PAGE_SIZE = 50


@dataclass(frozen=True)
class GatePosters:
    gate: Gate
    posters: list[GatePoster]


def posters_by_gate(user: User) -> list[GatePosters]:
    """Every gate of the enterprise with its posters; a gate's first poster is its own token."""
    gates = list(db.session.scalars(scoped(Gate, user).order_by(Gate.code)))
    posters: dict[int, list[GatePoster]] = {gate.id: [] for gate in gates}
    for poster in db.session.scalars(scoped(GatePoster, user).order_by(GatePoster.id)):
        posters[poster.gate_id].append(poster)
    for gate in gates:
        if not posters[gate.id]:
            first = adopt_first_poster(gate)
            posters[gate.id] = [first] if first is not None else []
    return [GatePosters(gate, posters[gate.id]) for gate in gates]


def _unused_token() -> str:
    while True:
        token = new_token()
        taken_by_poster = db.session.scalar(select(GatePoster.id).where(GatePoster.token == token))
        taken_by_gate = db.session.scalar(select(Gate.id).where(Gate.poster_token == token))
        if taken_by_poster is None and taken_by_gate is None:
            return token


def _audit(user: User, action: str, poster: GatePoster, now: datetime, ip: str, **details: Any):
    record_audit(
        user,
        action,
        now=now,
        target_type="gate_poster",
        target_id=poster.id,
        enterprise_id=poster.enterprise_id,
        ip=ip,
        details={"gate_id": poster.gate_id, "label": poster.label, **details},
    )


def add_poster(user: User, gate: Gate, *, label: str, now: datetime, ip: str = "") -> GatePoster:
    """Another poster of `gate`, for another point of the premises."""
    # The gate's own token stays its first poster, whatever page HR came from.
    adopt_first_poster(gate)
    poster = GatePoster(
        enterprise_id=gate.enterprise_id,
        gate_id=gate.id,
        label=label.strip(),
        token=_unused_token(),
        created_at=now,
    )
    db.session.add(poster)
    db.session.flush()
    _audit(user, "add_gate_poster", poster, now, ip)
    return poster


def rotate_poster(user: User, poster: GatePoster, *, now: datetime, ip: str = "") -> GatePoster:
    """A new token for the poster: the printed old one stops recording at once.

    The gate's `poster_token` follows its first poster, so the gate's own poster page prints
    the valid code.
    """
    new = _unused_token()
    gate = poster.gate
    if gate.poster_token == poster.token:
        gate.poster_token = new
    poster.token = new
    poster.rotated_at = now
    _audit(user, "rotate_gate_poster", poster, now, ip)
    return poster


def set_poster_active(
    user: User, poster: GatePoster, *, active: bool, now: datetime, ip: str = ""
) -> GatePoster:
    poster.active = active
    _audit(user, "enable_gate_poster" if active else "disable_gate_poster", poster, now, ip)
    return poster


def set_on_screen(
    user: User, poster: GatePoster, *, on: bool, now: datetime, ip: str = ""
) -> GatePoster:
    """Only at the gate: the printed code stops, a screen shows one that changes every 30 s.

    Each switch-on makes a new screen key, so a screen link given out before stops working.
    """
    poster.on_screen = on
    poster.screen_key = _unused_token() if on else None
    _audit(user, "gate_poster_on_screen" if on else "gate_poster_printed", poster, now, ip)
    return poster


def questions(user: User) -> tuple[list[DeclarationQuestion], list[DeclarationQuestion]]:
    """The questions in force, in order, and the retired versions, newest first."""
    rows = list(
        db.session.scalars(
            scoped(DeclarationQuestion, user).order_by(
                DeclarationQuestion.position, DeclarationQuestion.id
            )
        )
    )
    retired = sorted((q for q in rows if not q.active), key=lambda q: q.id, reverse=True)
    return [q for q in rows if q.active], retired


def _question_audit(user: User, action: str, question: DeclarationQuestion, now: datetime, ip: str):
    record_audit(
        user,
        action,
        now=now,
        target_type="declaration_question",
        target_id=question.id,
        enterprise_id=question.enterprise_id,
        ip=ip,
        details={"text_vi": question.text_vi, "replaces_id": question.replaces_id},
    )


def add_question(
    user: User, fields: dict[str, Any], *, now: datetime, ip: str = "", replaces: int | None = None
) -> DeclarationQuestion:
    question = DeclarationQuestion(
        enterprise_id=user.enterprise_id,
        kind=fields["kind"],
        text_vi=fields["text_vi"].strip(),
        text_en=(fields.get("text_en") or "").strip(),
        alert_on=fields["alert_on"],
        position=fields.get("position") or 0,
        replaces_id=replaces,
        created_at=now,
    )
    db.session.add(question)
    db.session.flush()
    _question_audit(user, "add_declaration_question", question, now, ip)
    return question


def revise_question(
    user: User,
    question: DeclarationQuestion,
    fields: dict[str, Any],
    *,
    now: datetime,
    ip: str = "",
) -> DeclarationQuestion:
    """Retire `question` and put its successor in force; answers keep the old wording."""
    question.active = False
    question.retired_at = now
    return add_question(user, fields, now=now, ip=ip, replaces=question.id)


def retire_question(
    user: User, question: DeclarationQuestion, *, now: datetime, ip: str = ""
) -> None:
    question.active = False
    question.retired_at = now
    _question_audit(user, "retire_declaration_question", question, now, ip)


@dataclass(frozen=True)
class SelfCheckinRow:
    event: GateEvent
    checkin: SelfCheckin
    name: str
    code: str


def self_checkins(
    user: User, *, alerts_only: bool, page: int, now: datetime, ip: str = ""
) -> list[SelfCheckinRow]:
    """A page of self check-ins, newest first, with the answers given; the view is audited."""
    query = (
        select(GateEvent, SelfCheckin, Worker.full_name, Worker.employee_code, Visitor.full_name)
        .join(SelfCheckin, SelfCheckin.event_id == GateEvent.id)
        .outerjoin(Worker, Worker.id == GateEvent.worker_id)
        .outerjoin(Visitor, Visitor.id == GateEvent.visitor_id)
        .where(scope_clause(SelfCheckin, user))
        .order_by(GateEvent.occurred_at.desc(), GateEvent.id.desc())
        .offset((page - 1) * PAGE_SIZE)
        .limit(PAGE_SIZE + 1)
    )
    if alerts_only:
        alerting = select(DeclarationAnswer.id).where(
            DeclarationAnswer.event_id == GateEvent.id, DeclarationAnswer.alert.is_(True)
        )
        query = query.where(alerting.exists())
    rows = [
        SelfCheckinRow(
            event, checkin, worker_name or visitor_name or event.subject_value, code or ""
        )
        for event, checkin, worker_name, code, visitor_name in db.session.execute(query)
    ]
    record_audit(
        user,
        "view_self_checkins",
        now=now,
        target_type="self_checkin",
        enterprise_id=user.enterprise_id,
        ip=ip,
        details={"page": page, "rows": min(len(rows), PAGE_SIZE), "alerts_only": alerts_only},
    )
    return rows


def self_checkin(
    user: User, checkin: SelfCheckin, *, now: datetime, ip: str = ""
) -> SelfCheckinRow:
    """One self check-in with its declaration; the view is audited."""
    event = db.session.get_one(GateEvent, checkin.event_id)
    worker = db.session.get(Worker, event.worker_id) if event.worker_id else None
    visitor = db.session.get(Visitor, event.visitor_id) if event.visitor_id else None
    name = worker.full_name if worker else visitor.full_name if visitor else event.subject_value
    record_audit(
        user,
        "view_self_checkin",
        now=now,
        target_type="gate_event",
        target_id=event.id,
        enterprise_id=event.enterprise_id,
        ip=ip,
    )
    return SelfCheckinRow(event, checkin, name, worker.employee_code if worker else "")
