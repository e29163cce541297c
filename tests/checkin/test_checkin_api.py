"""The self check-in page's calls: who checks in, recording once, refusing what is wrong."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from server.checkin.routes import PER_ADDRESS, PER_PHONE
from server.extensions import db
from server.hr.checkin.services import revise_question, rotate_poster, set_poster_active
from server.hr.roster import importer
from server.models import (
    DeclarationAnswer,
    Gate,
    GateEvent,
    GatePoster,
    QuarantinedEvent,
    SelfCheckin,
    Visitor,
)
from tests.checkin.helpers import checkin_body
from tests.factories import (
    login,
    make_enterprise,
    make_event,
    make_gate,
    make_poster,
    make_question,
    make_user,
    make_worker,
)

VISITOR = {
    "name": "Lê Thị Khách",
    "phone": "0987 654 321",
    "organisation": "Công ty Vận tải An Bình",
    "purpose": "Giao hàng",
    "host": "Phòng kho",
}


def events() -> list[GateEvent]:
    db.session.expire_all()
    return list(db.session.scalars(select(GateEvent)))


def no(premises) -> list[dict]:
    return [{"question_id": premises.question.id, "answer": "no"}]


def test_worker_checkin_is_a_self_event_of_the_posters_gate(client, premises) -> None:
    body = checkin_body({"worker": premises.worker_identity()}, answers=no(premises))

    answer = client.post(f"{premises.base}/checkins", json=body)

    assert answer.status_code == 200
    assert answer.get_json()["status"] == "accepted"
    [event] = events()
    assert str(event.id) == body["id"]
    assert (event.method, event.device_id, event.seq) == ("self", None, None)
    assert (event.gate_id, event.enterprise_id) == (premises.gate.id, premises.enterprise.id)
    assert (event.subject_kind, event.worker_id, event.direction) == (
        "worker",
        premises.worker.id,
        "in",
    )
    assert event.occurred_offset_minutes == 420
    assert event.flags == []
    checkin = db.session.get(SelfCheckin, event.id)
    assert checkin.poster_id == premises.poster.id
    assert [(a.question_id, a.answer, a.alert) for a in checkin.answers] == [
        (premises.question.id, "no", False)
    ]


def test_resent_checkin_is_a_duplicate_and_stored_once(client, premises) -> None:
    body = checkin_body({"worker": premises.worker_identity()}, answers=no(premises))
    first = client.post(f"{premises.base}/checkins", json=body)
    body["sent_at"] = datetime.now(UTC).isoformat()  # a later try of the same check-in

    again = client.post(f"{premises.base}/checkins", json=body)

    assert first.get_json()["status"] == "accepted"
    assert again.status_code == 200
    assert again.get_json()["status"] == "duplicate"
    assert len(events()) == 1
    assert db.session.scalar(select(func.count(DeclarationAnswer.id))) == 1


def test_same_id_with_other_content_is_a_conflict_kept_for_audit(client, premises) -> None:
    body = checkin_body({"worker": premises.worker_identity()}, answers=no(premises))
    client.post(f"{premises.base}/checkins", json=body)
    changed = {**body, "direction": "out", "answers": []}

    answer = client.post(f"{premises.base}/checkins", json=changed)

    assert answer.get_json()["status"] == "conflict"
    [event] = events()
    assert event.direction == "in"
    [kept] = db.session.scalars(select(QuarantinedEvent)).all()
    assert (kept.reason, kept.event_id, kept.device_id) == ("conflict", body["id"], None)
    assert json.loads(kept.raw)["direction"] == "out"


def test_the_direction_proposed_follows_the_last_record(client, premises) -> None:
    identify = {"worker": premises.worker_identity()}
    assert client.post(f"{premises.base}/identify", json=identify).get_json()["proposed"] == "in"

    client.post(f"{premises.base}/checkins", json=checkin_body(identify, answers=no(premises)))
    assert client.post(f"{premises.base}/identify", json=identify).get_json()["proposed"] == "out"

    client.post(f"{premises.base}/checkins", json=checkin_body(identify, direction="out"))
    assert client.post(f"{premises.base}/identify", json=identify).get_json()["proposed"] == "in"


def test_an_entry_older_than_a_shift_proposes_entry_again(client, premises) -> None:
    long_ago = datetime.now(UTC) - timedelta(hours=20)
    make_event(premises.gate, worker=premises.worker, direction="in", occurred_at=long_ago)

    answer = client.post(f"{premises.base}/identify", json={"worker": premises.worker_identity()})

    assert answer.get_json() == {"name": premises.worker.full_name, "proposed": "in"}


def test_the_phone_may_be_written_in_the_international_form(client, premises) -> None:
    identity = {"employee_code": "nv00042", "phone": "+84 912 345 678"}

    answer = client.post(f"{premises.base}/identify", json={"worker": identity})

    assert answer.status_code == 200


@pytest.mark.parametrize("typed", ["01689123456", "0389 123 456", "+84 389123456"])
def test_a_phone_the_roster_import_accepted_checks_in_as_written_then_or_now(
    client, premises, typed
) -> None:
    # The import stored a retired 11-digit number, written without its leading zero.
    table = [["Họ và tên", "Mã nhân viên", "Số điện thoại"], ["Lê Thị Mai", "NV7", 1689123456]]
    planned = importer.plan(importer.read_sheet(table).rows, {}, today=date(2026, 1, 1))
    make_worker(premises.enterprise, employee_code="NV7", phone=planned.rows[0].values["phone"])

    answer = client.post(
        f"{premises.base}/identify", json={"worker": {"employee_code": "NV7", "phone": typed}}
    )

    assert answer.status_code == 200


def test_a_wrong_pair_and_an_unknown_code_get_the_same_refusal(client, premises) -> None:
    wrong_phone = {"employee_code": premises.worker.employee_code, "phone": "0900000000"}
    unknown_code = {"employee_code": "NV99999", "phone": premises.worker.phone}

    first = client.post(f"{premises.base}/identify", json={"worker": wrong_phone})
    second = client.post(f"{premises.base}/identify", json={"worker": unknown_code})
    recorded = client.post(f"{premises.base}/checkins", json=checkin_body({"worker": wrong_phone}))

    assert first.status_code == second.status_code == recorded.status_code == 422
    assert first.get_json() == second.get_json() == recorded.get_json()
    assert first.get_json()["error"]["code"] == "wrong_pair"
    assert premises.worker.full_name not in first.get_data(as_text=True)
    assert events() == []


def test_an_inactive_worker_cannot_check_in(client, premises) -> None:
    gone = make_worker(premises.enterprise, phone="0911111111", active=False)
    identity = {"employee_code": gone.employee_code, "phone": gone.phone}

    answer = client.post(f"{premises.base}/identify", json={"worker": identity})

    assert answer.get_json()["error"]["code"] == "wrong_pair"


def test_an_unknown_token_shows_an_invalid_code_page_and_records_nothing(client, premises) -> None:
    page = client.get("/c/NOSUCHTOKEN")
    posted = client.post(
        "/c/NOSUCHTOKEN/checkins", json=checkin_body({"worker": premises.worker_identity()})
    )

    assert page.status_code == 404
    assert "Mã này không còn hiệu lực" in page.get_data(as_text=True)
    assert posted.status_code == 404
    assert posted.get_json()["error"]["code"] == "invalid_poster"
    assert client.get("/c/" + "A" * 500).status_code == 404
    assert events() == []


def test_a_rotated_poster_is_refused_and_the_new_code_works(client, premises) -> None:
    hr = make_user("hr", enterprise=premises.enterprise)
    old = premises.poster.token
    rotate_poster(hr, premises.poster, now=datetime.now(UTC))
    db.session.commit()
    body = checkin_body({"worker": premises.worker_identity()}, answers=no(premises))

    page = client.get(f"/c/{old}")
    refused = client.post(f"/c/{old}/checkins", json=body)
    accepted = client.post(f"/c/{premises.poster.token}/checkins", json=body)

    assert page.status_code == 404
    assert 'id="invalid"' in page.get_data(as_text=True)
    assert refused.status_code == 404
    assert accepted.get_json()["status"] == "accepted"
    assert len(events()) == 1


def test_a_disabled_poster_and_a_closed_gate_record_nothing(client, premises) -> None:
    hr = make_user("hr", enterprise=premises.enterprise)
    body = checkin_body({"worker": premises.worker_identity()}, answers=no(premises))
    set_poster_active(hr, premises.poster, active=False, now=datetime.now(UTC))
    db.session.commit()
    assert client.post(f"{premises.base}/checkins", json=body).status_code == 404

    set_poster_active(hr, premises.poster, active=True, now=datetime.now(UTC))
    premises.gate.active = False
    db.session.commit()
    assert client.post(f"{premises.base}/checkins", json=body).status_code == 404
    assert events() == []


def test_a_gates_own_poster_token_becomes_its_first_poster(client, app) -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    first_token = gate.poster_token

    assert client.get(f"/c/{first_token}").status_code == 200
    [poster] = db.session.scalars(select(GatePoster).where(GatePoster.gate_id == gate.id)).all()
    assert (poster.token, poster.label) == (first_token, gate.name)

    rotate_poster(make_user("hr", enterprise=enterprise), poster, now=datetime.now(UTC))
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Gate, gate.id).poster_token == poster.token != first_token
    assert client.get(f"/c/{first_token}").status_code == 404
    assert db.session.scalar(select(func.count(GatePoster.id))) == 1


def test_oversized_and_broken_fields_are_refused_with_their_names(client, premises) -> None:
    worker = premises.worker_identity()
    cases = [
        ({"worker": {**worker, "employee_code": "X" * 41}}, "worker"),
        ({"visitor": {**VISITOR, "name": "N" * 121}}, "visitor"),
        ({"visitor": {**VISITOR, "purpose": "P" * 201}}, "visitor"),
        ({"visitor": {**VISITOR, "host": "a\x00b"}}, "visitor"),
        ({"visitor": {**VISITOR, "name": "  "}}, "visitor"),
        ({"worker": worker, "visitor": VISITOR}, "worker"),
        ({"worker": {**worker, "extra": "field"}}, "worker"),
    ]
    for person, field in cases:
        answer = client.post(
            f"{premises.base}/checkins", json=checkin_body(person, direction="out")
        )
        assert answer.status_code == 400, person
        assert field in answer.get_json()["error"]["details"]["fields"], person

    too_long_answer = checkin_body(
        {"worker": worker}, answers=[{"question_id": premises.question.id, "answer": "x" * 201}]
    )
    assert client.post(f"{premises.base}/checkins", json=too_long_answer).status_code == 400
    not_a_uuid = checkin_body({"worker": worker}, direction="out", id="not-a-uuid")
    assert client.post(f"{premises.base}/checkins", json=not_a_uuid).status_code == 400
    naive_time = checkin_body(
        {"worker": worker}, direction="out", occurred_at="2026-01-01T08:00:00"
    )
    assert client.post(f"{premises.base}/checkins", json=naive_time).status_code == 400
    assert client.post(f"{premises.base}/checkins", data="not json").status_code == 400
    assert client.post(f"{premises.base}/checkins", json=["a", "list"]).status_code == 400
    assert events() == []


def test_times_far_from_the_servers_are_refused(client, premises) -> None:
    worker = {"worker": premises.worker_identity()}
    future = checkin_body(worker, direction="out", at=datetime.now(UTC) + timedelta(hours=1))
    stale = checkin_body(worker, direction="out", at=datetime.now(UTC) - timedelta(days=8))

    assert client.post(f"{premises.base}/checkins", json=future).get_json()["error"]["code"] == (
        "bad_time"
    )
    assert client.post(f"{premises.base}/checkins", json=stale).get_json()["error"]["code"] == (
        "too_old"
    )
    assert events() == []


def test_a_check_in_queued_for_hours_keeps_its_own_time(client, premises) -> None:
    earlier = datetime.now(UTC) - timedelta(hours=3)
    body = checkin_body({"worker": premises.worker_identity()}, answers=no(premises), at=earlier)

    client.post(f"{premises.base}/checkins", json=body)

    [event] = events()
    assert abs((event.occurred_at - earlier).total_seconds()) < 1
    assert event.received_at - event.occurred_at > timedelta(hours=2)


def test_an_entry_needs_the_declaration_and_an_exit_does_not(client, premises) -> None:
    worker = {"worker": premises.worker_identity()}

    entry = client.post(f"{premises.base}/checkins", json=checkin_body(worker))
    exit_ = client.post(f"{premises.base}/checkins", json=checkin_body(worker, direction="out"))

    assert entry.status_code == 422
    assert entry.get_json()["error"]["code"] == "declaration_missing"
    assert exit_.get_json()["status"] == "accepted"
    bad_yes_no = checkin_body(
        worker, answers=[{"question_id": premises.question.id, "answer": "maybe"}]
    )
    assert client.post(f"{premises.base}/checkins", json=bad_yes_no).get_json()["error"][
        "code"
    ] == ("bad_answer")


def test_a_visitors_alerting_answer_flags_the_event(client, premises) -> None:
    travel = make_question(
        enterprise=premises.enterprise, kind="text", text_vi="Bạn vừa đi từ đâu về?", alert_on="any"
    )
    answers = [
        {"question_id": premises.question.id, "answer": "yes"},
        {"question_id": travel.id, "answer": "Đà Nẵng"},
    ]
    identify = client.post(f"{premises.base}/identify", json={"visitor": VISITOR})
    answer = client.post(
        f"{premises.base}/checkins", json=checkin_body({"visitor": VISITOR}, answers=answers)
    )

    assert identify.get_json() == {"name": VISITOR["name"], "proposed": "in"}
    assert answer.get_json()["alert"] is True
    [event] = events()
    assert event.flags == ["declaration_alert"]
    assert (event.subject_kind, event.worker_id) == ("visitor", None)
    assert event.visitor_details == VISITOR
    visitor = db.session.get(Visitor, event.visitor_id)
    assert (visitor.full_name, visitor.phone, visitor.organisation) == (
        VISITOR["name"],
        "0987654321",
        VISITOR["organisation"],
    )
    alerts = {a.question_id: a.alert for a in db.session.scalars(select(DeclarationAnswer))}
    assert alerts == {premises.question.id: True, travel.id: True}

    again = client.post(f"{premises.base}/identify", json={"visitor": VISITOR})
    assert again.get_json()["proposed"] == "out"
    client.post(
        f"{premises.base}/checkins", json=checkin_body({"visitor": VISITOR}, direction="out")
    )
    assert {e.visitor_id for e in events()} == {visitor.id}


def test_answers_to_a_retired_version_are_kept_with_it(client, premises) -> None:
    hr = make_user("hr", enterprise=premises.enterprise)
    old_id = premises.question.id
    fields = {"kind": "yes_no", "text_vi": "Bạn có sốt không?", "text_en": "", "alert_on": "yes"}
    revise_question(hr, premises.question, fields, now=datetime.now(UTC))
    db.session.commit()
    queued = checkin_body(
        {"worker": premises.worker_identity()}, answers=[{"question_id": old_id, "answer": "yes"}]
    )

    answer = client.post(f"{premises.base}/checkins", json=queued)

    assert answer.get_json()["status"] == "accepted"
    [stored] = db.session.scalars(select(DeclarationAnswer)).all()
    assert (stored.question_id, stored.question.text_vi, stored.alert) == (
        old_id,
        "Bạn có bị sốt hoặc ho không?",
        True,
    )


def test_rate_limit_per_phone(client, premises) -> None:
    allowed = int(PER_PHONE.split()[0])
    identity = {"worker": premises.worker_identity()}
    for _ in range(allowed):
        assert client.post(f"{premises.base}/identify", json=identity).status_code == 200

    limited = client.post(f"{premises.base}/checkins", json=checkin_body(identity, direction="out"))
    other_phone = client.post(
        f"{premises.base}/identify", json={"visitor": {**VISITOR, "phone": "0977000000"}}
    )

    assert limited.status_code == 429
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    assert other_phone.status_code == 200
    assert events() == []


def test_rate_limit_per_address(client, premises) -> None:
    allowed = int(PER_ADDRESS.split()[0])
    for n in range(allowed):
        visitor = {**VISITOR, "phone": f"0970{n:06d}"}
        assert (
            client.post(f"{premises.base}/identify", json={"visitor": visitor}).status_code == 200
        )

    limited = client.post(f"{premises.base}/identify", json={"visitor": VISITOR})
    elsewhere = client.post(
        f"{premises.base}/identify",
        json={"visitor": VISITOR},
        environ_overrides={"REMOTE_ADDR": "10.9.8.7"},
    )

    assert limited.status_code == 429
    assert elsewhere.status_code == 200


def test_a_poster_speaks_only_for_its_own_enterprise(client, premises) -> None:
    other = make_enterprise()
    other_gate = make_gate(other)
    their_worker = make_worker(other, phone="0933333333")
    their_question = make_question(enterprise=other)
    their_event = make_event(other_gate, worker=their_worker)
    make_poster(enterprise=other, gate=other_gate)

    theirs = {"employee_code": their_worker.employee_code, "phone": their_worker.phone}
    identify = client.post(f"{premises.base}/identify", json={"worker": theirs})
    foreign_answer = checkin_body(
        {"worker": premises.worker_identity()},
        answers=[{"question_id": their_question.id, "answer": "no"}],
    )
    answered = client.post(f"{premises.base}/checkins", json=foreign_answer)
    reused_id = checkin_body(
        {"worker": premises.worker_identity()}, direction="out", id=str(their_event.id)
    )
    reused = client.post(f"{premises.base}/checkins", json=reused_id)

    assert identify.get_json()["error"]["code"] == "wrong_pair"
    assert answered.get_json()["error"]["code"] == "unknown_question"
    assert reused.get_json()["status"] == "conflict"
    db.session.expire_all()
    stored = db.session.get(GateEvent, their_event.id)
    assert (stored.enterprise_id, stored.worker_id, stored.method) == (
        other.id,
        their_worker.id,
        "scanner",
    )
    kept = db.session.scalars(select(QuarantinedEvent).order_by(QuarantinedEvent.id)).all()
    assert [(q.reason, q.enterprise_id) for q in kept] == [
        ("unknown_question", premises.enterprise.id),
        ("conflict", premises.enterprise.id),
    ]
    assert db.session.scalar(select(func.count(SelfCheckin.event_id))) == 0


def test_the_page_carries_the_declaration_escaped_and_no_qr_library(client, premises) -> None:
    make_question(enterprise=premises.enterprise, text_vi="<img src=x onerror=alert(1)> sốt?")

    page = client.get(premises.base)
    html = page.get_data(as_text=True)

    assert page.status_code == 200
    assert "Cổng chính" in html
    assert "Cửa nhà ăn" in html
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt; sốt?" in html
    assert f'data-question-id="{premises.question.id}"' in html
    assert page.headers["Cache-Control"] == "no-cache"
    manifest = client.get(f"{premises.base}/manifest.webmanifest").get_json()
    assert manifest["start_url"] == premises.base
    script = client.get("/c/static/checkin.js").get_data(as_text=True)
    assert "qrcode" not in script.lower()
    worker_script = client.get("/c/sw.js")
    # Its scope stays /c/: the gate app's service worker keeps the site root.
    assert worker_script.status_code == 200
    assert "Service-Worker-Allowed" not in worker_script.headers
    assert "scope: '/c/'" in script


def test_an_event_id_is_a_uuid_the_page_may_give_in_upper_case(client, premises) -> None:
    event_id = uuid.uuid4()
    body = checkin_body(
        {"worker": premises.worker_identity()}, direction="out", id=str(event_id).upper()
    )
    assert client.post(f"{premises.base}/checkins", json=body).get_json()["status"] == "accepted"
    body["id"] = str(event_id)
    assert client.post(f"{premises.base}/checkins", json=body).get_json()["status"] == "duplicate"


def test_an_oversized_body_is_refused_before_it_is_read(client, premises) -> None:
    body = checkin_body({"worker": premises.worker_identity()}, direction="out", note="x" * 70_000)

    answer = client.post(f"{premises.base}/checkins", json=body)

    assert answer.status_code == 413
    assert answer.get_json()["error"]["code"] == "request_entity_too_large"
    assert events() == []


def test_a_refused_checkin_is_quarantined_and_hr_reads_why(client, premises) -> None:
    wrong = checkin_body({"worker": {"employee_code": "NV00042", "phone": "0900000000"}})

    answer = client.post(f"{premises.base}/checkins", json=wrong)

    assert answer.get_json()["error"]["code"] == "wrong_pair"
    assert db.session.scalar(select(func.count(GateEvent.id))) == 0
    [kept] = db.session.scalars(select(QuarantinedEvent)).all()
    assert (kept.reason, kept.event_id, kept.device_id) == ("wrong_pair", wrong["id"], None)
    assert json.loads(kept.raw)["worker"]["phone"] == "0900000000"
    login(client, make_user("hr", enterprise=premises.enterprise))
    page = client.get("/hr/log/quarantined").get_data(as_text=True)
    assert "không có công nhân đang làm việc nào có mã nhân viên và số điện thoại này" in page


def test_a_database_outage_is_told_to_the_phone_as_json_and_records_nothing(
    client, premises, monkeypatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from server.checkin import services as checkin_services

    def unreachable(*_args, **_kwargs):
        raise OperationalError("SELECT worker", {}, Exception("could not connect to server"))

    monkeypatch.setattr(checkin_services, "record_checkin", unreachable)
    body = checkin_body({"worker": premises.worker_identity()}, answers=no(premises))

    answer = client.post(f"{premises.base}/checkins", json=body)

    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) > 0
    error = answer.get_json()["error"]
    assert error["code"] == "unavailable"
    assert "Chưa có gì được lưu" in error["message"]
    assert events() == []
