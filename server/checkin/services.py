"""Self check-in from a phone at a QR poster: who is checking in, and recording it once.

There is no signed-in user here: the poster's token names the enterprise, and every lookup is
confined to that enterprise. A self check-in is a GateEvent like a tablet's (method "self", no
device, no seq), idempotent on the id the phone gave it, exactly as the tablets' events are.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from server import phones
from server.checkin import screen
from server.extensions import db
from server.models import (
    DeclarationAnswer,
    DeclarationQuestion,
    Gate,
    GateEvent,
    GatePoster,
    QuarantinedEvent,
    SelfCheckin,
    Visitor,
    Worker,
)
from sync.engine import FUTURE_TOLERANCE, REASONS, TIME_RANGE, content_hash_of

# The sync engine hashes the tablet's id into an event's content; a self check-in has none, and
# 0 is never a device id, so a self check-in never hashes like a tablet's event.
NO_DEVICE = 0
# Queued check-ins wait on the phone; one older than this is no longer worth recording as a time.
MAX_QUEUED_AGE = timedelta(days=7)


class CheckinRefused(Exception):
    """Nothing was recorded; `code` tells the page which message to show."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Person:
    """Who stands at the poster, as the page shows them."""

    name: str
    worker: Worker | None = None
    visitor: Visitor | None = None


@dataclass(frozen=True)
class Outcome:
    status: str  # accepted | duplicate | conflict
    event_id: str
    direction: str
    alert: bool = False


def poster_for_token(token: str) -> GatePoster | None:
    """The active poster of an active gate behind `token`, or None (unknown, rotated, retired)."""
    if len(token) > 40:
        return None
    poster = db.session.scalar(select(GatePoster).where(GatePoster.token == token))
    if poster is None:
        gate = db.session.scalar(select(Gate).where(Gate.poster_token == token))
        poster = adopt_first_poster(gate) if gate is not None else None
    if poster is None or not poster.active or not poster.gate.active:
        return None
    return poster


def poster_for_screen(screen_key: str) -> GatePoster | None:
    """The active poster a gate screen shows, by the screen's own key."""
    if len(screen_key) > 40:
        return None
    poster = db.session.scalar(select(GatePoster).where(GatePoster.screen_key == screen_key))
    if poster is None or not poster.on_screen or not poster.active or not poster.gate.active:
        return None
    return poster


def adopt_first_poster(gate: Gate) -> GatePoster | None:
    """Make the gate's foundation `poster_token` its first poster, once; None if it has posters.

    Two first visits may race: the unique token lets one insert win and the other reads it.
    """
    if db.session.scalar(select(GatePoster.id).where(GatePoster.gate_id == gate.id).limit(1)):
        return None
    poster = GatePoster(
        enterprise_id=gate.enterprise_id, gate_id=gate.id, label=gate.name, token=gate.poster_token
    )
    try:
        with db.session.begin_nested():
            db.session.add(poster)
    except IntegrityError:
        return db.session.scalar(select(GatePoster).where(GatePoster.token == gate.poster_token))
    return poster


def active_questions(enterprise_id: int) -> list[DeclarationQuestion]:
    return list(
        db.session.scalars(
            select(DeclarationQuestion)
            .where(
                DeclarationQuestion.enterprise_id == enterprise_id,
                DeclarationQuestion.active.is_(True),
            )
            .order_by(DeclarationQuestion.position, DeclarationQuestion.id)
        )
    )


def identify(poster: GatePoster, identity: dict[str, Any]) -> Person:
    """The worker whose code and phone match, or the visitor as given.

    A wrong pair and an unknown code give the same refusal, so the page reveals nobody.
    """
    if identity.get("worker") is not None:
        given = identity["worker"]
        worker = db.session.scalar(
            select(Worker).where(
                Worker.enterprise_id == poster.enterprise_id,
                func.upper(Worker.employee_code) == given["employee_code"].strip().upper(),
                Worker.active.is_(True),
            )
        )
        phone = phones.key(given["phone"])
        if worker is None or not phone or phones.key(worker.phone or "") != phone:
            raise CheckinRefused("wrong_pair")
        return Person(name=worker.full_name, worker=worker)
    details = identity["visitor"]
    return Person(name=details["name"].strip(), visitor=_known_visitor(poster, details))


def _known_visitor(poster: GatePoster, details: dict[str, Any]) -> Visitor | None:
    """A visitor who came before with the same name and phone: their visits form one timeline."""
    candidates = db.session.scalars(
        select(Visitor)
        .where(
            Visitor.enterprise_id == poster.enterprise_id,
            Visitor.full_name == details["name"].strip(),
        )
        .order_by(Visitor.id.desc())
        .limit(50)
    )
    phone = phones.key(details["phone"])
    return next((v for v in candidates if phones.key(v.phone or "") == phone), None)


def proposed_direction(person: Person, *, now: datetime, shift_hours: float) -> str:
    """ "out" when the person's last record is an entry within a shift, else "in"."""
    if person.worker is not None:
        column, ident = GateEvent.worker_id, person.worker.id
    elif person.visitor is not None:
        column, ident = GateEvent.visitor_id, person.visitor.id
    else:
        return "in"
    last = db.session.execute(
        select(GateEvent.direction, GateEvent.occurred_at)
        .where(column == ident)
        .order_by(GateEvent.occurred_at.desc())
        .limit(1)
    ).first()
    if last and last.direction == "in" and now - last.occurred_at < timedelta(hours=shift_hours):
        return "out"
    return "in"


def _require_presence(
    poster: GatePoster, body: dict[str, Any], *, secret: str, at: datetime, now: datetime
) -> None:
    """On a poster shown on a gate screen, the page must have been opened there, then."""
    if not poster.on_screen:
        return
    issued = screen.presence_issued_at(secret, poster, body.get("presence"))
    if not screen.present_then(issued, at, now):
        raise CheckinRefused("not_at_gate")


def greet(
    poster: GatePoster, identity: dict[str, Any], *, secret: str, now: datetime, shift_hours: float
) -> tuple[Person, str]:
    """Who stands at the poster and the direction to propose to them."""
    _require_presence(poster, identity, secret=secret, at=now, now=now)
    person = identify(poster, identity)
    return person, proposed_direction(person, now=now, shift_hours=shift_hours)


def record_checkin(
    poster: GatePoster,
    checkin: dict[str, Any],
    raw: Any,
    *,
    secret: str,
    now: datetime,
    skew_flag_seconds: float,
) -> Outcome:
    """Record one check-in in one transaction; a resend is a duplicate, another body a conflict.

    Raises CheckinRefused with nothing written when the person, the time or the answers are wrong.
    """
    event_id = str(checkin["id"])
    person = identify(poster, checkin)
    skew = now - checkin["sent_at"]
    corrected = checkin["occurred_at"] + skew
    if corrected - now > FUTURE_TOLERANCE or abs(corrected - now) > TIME_RANGE:
        raise CheckinRefused("bad_time")
    if now - corrected > MAX_QUEUED_AGE:
        raise CheckinRefused("too_old")
    _require_presence(poster, checkin, secret=secret, at=corrected, now=now)
    answers = _checked_answers(poster.enterprise_id, checkin)
    alert = any(question.alerts(answer) for question, answer in answers)
    content_hash = _content_hash(poster, checkin, person, answers)

    existing = _stored_hash(event_id)
    if existing is None:
        flags = ["declaration_alert"] if alert else []
        if abs(skew.total_seconds()) > skew_flag_seconds:
            flags.append("clock_skew")
        event = _new_event(poster, checkin, person, content_hash, corrected, now, flags)
        try:
            _insert(poster, event, person, checkin, answers)
            return Outcome("accepted", event_id, checkin["direction"], alert)
        except IntegrityError:
            # The same id was committed meanwhile (a resend racing the first try).
            db.session.rollback()
            existing = _stored_hash(event_id)
            if existing is None:
                raise
    if existing == content_hash:
        return Outcome("duplicate", event_id, checkin["direction"], alert)
    _quarantine_conflict(poster, event_id, raw, now)
    return Outcome("conflict", event_id, checkin["direction"], alert)


def _checked_answers(
    enterprise_id: int, checkin: dict[str, Any]
) -> list[tuple[DeclarationQuestion, str]]:
    """Answers paired with their questions; an entry must answer the yes/no questions in force.

    Answers to a version retired since the page was loaded are kept with that version: a
    check-in queued offline was made against the questions the person saw.
    """
    given = {item["question_id"]: item["answer"].strip() for item in checkin["answers"]}
    questions = {
        q.id: q
        for q in db.session.scalars(
            select(DeclarationQuestion).where(
                DeclarationQuestion.enterprise_id == enterprise_id,
                DeclarationQuestion.id.in_(given),
            )
        )
    }
    if len(questions) != len(given):
        raise CheckinRefused("unknown_question")
    pairs = []
    for question_id, answer in given.items():
        question = questions[question_id]
        if question.kind == "yes_no" and answer not in ("yes", "no"):
            raise CheckinRefused("bad_answer")
        pairs.append((question, answer))
    if checkin["direction"] == "in":
        answered = set(given) | {q.replaces_id for q in questions.values() if q.replaces_id}
        for question in active_questions(enterprise_id):
            if question.kind == "yes_no" and not ({question.id, question.replaces_id} & answered):
                raise CheckinRefused("declaration_missing")
    return pairs


def _subject(person: Person) -> dict[str, str]:
    if person.worker is not None:
        return {"kind": "worker", "value": str(person.worker.id)}
    return {"kind": "text", "value": person.name}


def _content_hash(
    poster: GatePoster,
    checkin: dict[str, Any],
    person: Person,
    answers: list[tuple[DeclarationQuestion, str]],
) -> str:
    """The sync engine's content hash of the event, extended with the poster and the answers."""
    event = {
        "id": str(checkin["id"]),
        "seq": 0,
        "occurred_at": checkin["occurred_at"],
        "gate_id": poster.gate_id,
        "direction": checkin["direction"],
        "subject": _subject(person),
        "method": "self",
        "note": None,
        "visitor": checkin.get("visitor"),
    }
    declaration = json.dumps(
        sorted((question.id, answer) for question, answer in answers), ensure_ascii=False
    )
    extended = f"{content_hash_of(NO_DEVICE, event)}|{poster.id}|{declaration}"
    return hashlib.sha256(extended.encode()).hexdigest()


def _stored_hash(event_id: str) -> str | None:
    return db.session.scalar(
        select(GateEvent.content_hash).where(GateEvent.id == uuid.UUID(event_id))
    )


def _new_event(
    poster: GatePoster,
    checkin: dict[str, Any],
    person: Person,
    content_hash: str,
    corrected: datetime,
    now: datetime,
    flags: list[str],
) -> GateEvent:
    occurred = checkin["occurred_at"]
    offset = occurred.utcoffset()
    subject = _subject(person)
    return GateEvent(
        id=checkin["id"],
        enterprise_id=poster.enterprise_id,
        gate_id=poster.gate_id,
        device_id=None,
        seq=None,
        direction=checkin["direction"],
        method="self",
        subject_type=subject["kind"],
        subject_value=subject["value"],
        subject_kind="worker" if person.worker is not None else "visitor",
        worker_id=person.worker.id if person.worker is not None else None,
        visitor_details=checkin.get("visitor"),
        occurred_at=occurred,
        occurred_offset_minutes=int(offset.total_seconds() // 60) if offset else 0,
        corrected_at=corrected,
        received_at=now,
        content_hash=content_hash,
        flags=flags,
    )


def _insert(
    poster: GatePoster,
    event: GateEvent,
    person: Person,
    checkin: dict[str, Any],
    answers: list[tuple[DeclarationQuestion, str]],
) -> None:
    visitor = person.visitor
    if checkin.get("visitor") is not None and visitor is None:
        details = checkin["visitor"]
        visitor = Visitor(
            enterprise_id=poster.enterprise_id,
            full_name=person.name,
            phone=phones.key(details["phone"])[:20],
            organisation=details.get("organisation", "").strip(),
        )
        db.session.add(visitor)
        db.session.flush()
    if visitor is not None:
        event.visitor_id = visitor.id
    db.session.add(event)
    db.session.flush()
    db.session.add(
        SelfCheckin(event_id=event.id, enterprise_id=poster.enterprise_id, poster_id=poster.id)
    )
    db.session.add_all(
        DeclarationAnswer(
            enterprise_id=poster.enterprise_id,
            event_id=event.id,
            question_id=question.id,
            answer=answer,
            alert=question.alerts(answer),
        )
        for question, answer in answers
    )


def _quarantine_conflict(poster: GatePoster, event_id: str, raw: Any, now: datetime) -> None:
    """The stored event is kept as it is; the other body is kept beside it for audit."""
    db.session.add(
        QuarantinedEvent(
            enterprise_id=poster.enterprise_id,
            device_id=None,
            event_id=event_id,
            reason="conflict",
            message=REASONS["conflict"][0],
            raw=json.dumps(raw, ensure_ascii=False)[:65536],
            received_at=now,
        )
    )
