"""Self check-in from a phone at a QR poster: who is checking in, and recording it once.

There is no signed-in user here: the poster's token names the enterprise, and every lookup is
confined to that enterprise. A self check-in is a gate record like a tablet's (method "self", no
device, no seq) and enters through the sync engine like one: idempotent on the id the phone gave
it, a changed resend kept as a conflict, a refused check-in quarantined with its raw body.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from server import phones
from server.checkin import screen
from server.extensions import db
from server.models.checkin import DeclarationQuestion, GatePoster
from server.models.org import Gate
from server.models.people import Visitor, Worker
from server.presence import last_passage
from server.sync_store import SqlSyncStore
from sync.engine import SELF, Delivery, Entry, Policy, Refusal, Source, ingest, true_times
from sync.store import CheckinRecord, NewVisitor

# Queued check-ins wait on the phone; one older than this is no longer worth recording as a time.
MAX_QUEUED_AGE = timedelta(days=7)
# The engine's reasons for a time it cannot believe, as the check-in page words them.
_TIME_REFUSALS = {"future_time": "bad_time", "time_out_of_range": "bad_time", "too_old": "too_old"}


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
        last = last_passage(worker_id=person.worker.id, now=now)
    elif person.visitor is not None:
        last = last_passage(visitor_id=person.visitor.id, now=now)
    else:
        return "in"
    if last and last.direction == "in" and now - last.at < timedelta(hours=shift_hours):
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
    policy: Policy,
) -> Outcome:
    """Hand one check-in to the sync engine; a resend is a duplicate, another body a conflict.

    Raises CheckinRefused when the person, the time or the answers are wrong: nothing is
    recorded as an event, and the engine keeps the check-in in quarantine with its raw body.
    """
    entry, alert = _entry(poster, checkin, raw, secret=secret, now=now)
    source = Source(SELF, poster.enterprise_id, max_age=MAX_QUEUED_AGE)
    delivery = Delivery([entry], checkin["sent_at"])
    [receipt] = ingest(SqlSyncStore(db.session), source, policy, [delivery], now)
    [ack] = receipt.acks
    event_id, direction = str(checkin["id"]), checkin["direction"]
    if ack["status"] != "rejected":
        return Outcome(ack["status"], event_id, direction, alert)
    if ack["reason"] == "conflict":
        return Outcome("conflict", event_id, direction, alert)
    raise CheckinRefused(_TIME_REFUSALS.get(ack["reason"], ack["reason"]))


def _entry(
    poster: GatePoster, checkin: dict[str, Any], raw: Any, *, secret: str, now: datetime
) -> tuple[Entry, bool]:
    """The check-in as the engine takes it, refused with the page's code when it cannot be true."""
    try:
        person = identify(poster, checkin)
        times = true_times(checkin["occurred_at"], now - checkin["sent_at"], now, MAX_QUEUED_AGE)
        if isinstance(times, str):
            raise CheckinRefused(_TIME_REFUSALS[times])
        _require_presence(poster, checkin, secret=secret, at=times[1], now=now)
        answers = _checked_answers(poster.enterprise_id, checkin)
    except CheckinRefused as refused:
        return Entry(raw, refusal=Refusal(refused.code)), False
    alert = any(question.alerts(answer) for question, answer in answers)
    declaration = json.dumps(
        sorted((question.id, answer) for question, answer in answers), ensure_ascii=False
    )
    visitor = checkin.get("visitor")
    new_visitor = None
    if visitor is not None and person.visitor is None:
        new_visitor = NewVisitor(
            name=person.name,
            phone=phones.key(visitor["phone"])[:20],
            organisation=visitor.get("organisation", "").strip(),
        )
    event = {
        "id": str(checkin["id"]),
        # Hashed as 0: a self check-in has no seq (and no device: the engine hashes 0 for it).
        "seq": 0,
        "occurred_at": checkin["occurred_at"],
        "gate_id": poster.gate_id,
        "direction": checkin["direction"],
        "subject": _subject(person),
        "method": "self",
        "note": None,
        "visitor": visitor,
    }
    entry = Entry(
        raw,
        event,
        flags=("declaration_alert",) if alert else (),
        # The poster and the answers belong to what makes two copies the same check-in.
        hash_extra=f"{poster.id}|{declaration}",
        visitor_id=person.visitor.id if person.visitor is not None else None,
        checkin=CheckinRecord(
            poster_id=poster.id,
            answers=tuple((q.id, answer, q.alerts(answer)) for q, answer in answers),
            new_visitor=new_visitor,
        ),
    )
    return entry, alert


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
