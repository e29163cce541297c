"""HR's self check-in pages: posters and their codes, the declaration's versions, the log."""

from __future__ import annotations

from sqlalchemy import func, select

from server.extensions import db
from server.models import AuditLog, DeclarationQuestion, Gate, GatePoster
from tests.checkin.helpers import checkin_body
from tests.factories import login, make_enterprise, make_gate, make_poster, make_user, make_worker


def hr_of(premises, client):
    user = make_user("hr", enterprise=premises.enterprise)
    login(client, user)
    return user


def test_the_posters_page_lists_each_gates_posters_and_adds_one(client, premises) -> None:
    hr_of(premises, client)
    bare_gate = make_gate(premises.enterprise, name="Cổng kho")

    page = client.get("/hr/checkin/posters").get_data(as_text=True)
    added = client.post(
        "/hr/checkin/posters", data={"gate_id": premises.gate.id, "label": "Cửa xưởng 2"}
    )

    assert "Cửa nhà ăn" in page
    # A gate without posters shows its own token as its first poster.
    first = db.session.scalar(select(GatePoster).where(GatePoster.gate_id == bare_gate.id))
    assert first.token == bare_gate.poster_token
    assert added.status_code == 302
    labels = set(
        db.session.scalars(select(GatePoster.label).where(GatePoster.gate_id == premises.gate.id))
    )
    assert labels == {"Cửa nhà ăn", "Cửa xưởng 2"}


def test_a_poster_for_another_enterprises_gate_is_refused(client, premises) -> None:
    hr_of(premises, client)
    foreign_gate = make_gate(make_enterprise())

    answer = client.post(
        "/hr/checkin/posters", data={"gate_id": foreign_gate.id, "label": "Lối tắt"}
    )

    assert answer.status_code == 400
    assert (
        db.session.scalar(
            select(func.count(GatePoster.id)).where(GatePoster.gate_id == foreign_gate.id)
        )
        == 0
    )


def test_the_print_view_and_downloads_carry_the_posters_link(client, premises) -> None:
    hr_of(premises, client)
    url = f"http://localhost/c/{premises.poster.token}"

    page = client.get(f"/hr/checkin/posters/{premises.poster.id}")
    svg = client.get(f"/hr/checkin/posters/{premises.poster.id}/poster.svg")
    png = client.get(f"/hr/checkin/posters/{premises.poster.id}/qr.png")

    html = page.get_data(as_text=True)
    assert url in html
    assert "<svg" in html
    assert svg.mimetype == "image/svg+xml"
    body = svg.get_data(as_text=True)
    assert 'viewBox="0 0 210 297"' in body
    assert "Công ty TNHH May Hòa Phát" in body
    assert "Cổng chính · Cửa nhà ăn" in body
    assert "Quét mã này bằng camera" in body
    assert "Scan this code with your phone camera" in body
    assert url in body
    assert "attachment" in svg.headers["Content-Disposition"]
    assert png.mimetype == "image/png"
    assert png.data.startswith(b"\x89PNG\r\n\x1a\n")


def test_rotating_a_poster_changes_its_link_and_is_audited(client, premises) -> None:
    hr_of(premises, client)
    old = premises.poster.token

    answer = client.post(f"/hr/checkin/posters/{premises.poster.id}/rotate")

    assert answer.status_code == 302
    db.session.expire_all()
    poster = db.session.get(GatePoster, premises.poster.id)
    assert poster.token != old
    assert poster.rotated_at is not None
    assert client.get(f"/c/{old}").status_code == 404
    assert client.get(f"/c/{poster.token}").status_code == 200
    actions = set(db.session.scalars(select(AuditLog.action)))
    assert "rotate_gate_poster" in actions
    # The gate's own token belonged to no poster here, so it stays as it was.
    assert db.session.get(Gate, premises.gate.id).poster_token != poster.token


def test_disabling_a_poster_stops_it(client, premises) -> None:
    hr_of(premises, client)

    client.post(f"/hr/checkin/posters/{premises.poster.id}/active", data={"active": "0"})
    stopped = client.get(premises.base).status_code
    client.post(f"/hr/checkin/posters/{premises.poster.id}/active", data={"active": "1"})

    assert stopped == 404
    assert client.get(premises.base).status_code == 200


def test_changing_a_question_keeps_the_wording_old_answers_were_given_to(client, premises) -> None:
    hr_of(premises, client)
    worker = {"worker": premises.worker_identity()}
    old_id = premises.question.id
    client.post(
        f"{premises.base}/checkins",
        json=checkin_body(worker, answers=[{"question_id": old_id, "answer": "yes"}]),
    )

    changed = client.post(
        f"/hr/checkin/questions/{old_id}",
        data={"text_vi": "Bạn có sốt trên 38 độ không?", "kind": "yes_no", "alert_on": "yes"},
    )

    assert changed.status_code == 302
    db.session.expire_all()
    versions = db.session.scalars(
        select(DeclarationQuestion).order_by(DeclarationQuestion.id)
    ).all()
    assert [(q.active, q.replaces_id) for q in versions] == [(False, None), (True, old_id)]
    questions_page = client.get("/hr/checkin/questions").get_data(as_text=True)
    assert "Bạn có sốt trên 38 độ không?" in questions_page
    log = client.get("/hr/checkin/log").get_data(as_text=True)
    assert "Bạn có bị sốt hoặc ho không?" in log
    assert "Bạn có sốt trên 38 độ không?" not in log
    page = client.get(premises.base).get_data(as_text=True)
    assert f'data-question-id="{versions[1].id}"' in page
    assert f'data-question-id="{old_id}"' not in page


def test_a_question_form_with_a_rule_that_does_not_fit_its_kind_is_refused(
    client, premises
) -> None:
    hr_of(premises, client)

    answer = client.post(
        "/hr/checkin/questions",
        data={"text_vi": "Bạn đi từ đâu về?", "kind": "yes_no", "alert_on": "any"},
    )
    too_long = client.post(
        "/hr/checkin/questions", data={"text_vi": "x" * 301, "kind": "text", "alert_on": ""}
    )

    assert answer.status_code == 400
    assert too_long.status_code == 400
    assert db.session.scalar(select(func.count(DeclarationQuestion.id))) == 1


def test_a_retired_question_is_no_longer_asked(client, premises) -> None:
    hr_of(premises, client)

    client.post(f"/hr/checkin/questions/{premises.question.id}/retire")

    db.session.expire_all()
    assert db.session.get(DeclarationQuestion, premises.question.id).active is False
    exit_free = checkin_body({"worker": premises.worker_identity()})
    assert client.post(f"{premises.base}/checkins", json=exit_free).get_json()["status"] == (
        "accepted"
    )


def test_the_log_flags_alerts_escapes_answers_and_is_audited(client, premises) -> None:
    hr_of(premises, client)
    text_question = DeclarationQuestion(
        enterprise_id=premises.enterprise.id, kind="text", text_vi="Ghi chú", alert_on=""
    )
    db.session.add(text_question)
    db.session.commit()
    visitor = {
        "name": "<script>alert(1)</script>",
        "phone": "0977123456",
        "organisation": "",
        "purpose": "Họp",
        "host": "Giám đốc",
    }
    answers = [
        {"question_id": premises.question.id, "answer": "yes"},
        {"question_id": text_question.id, "answer": "<b>đau họng</b>"},
    ]
    alerting = client.post(
        f"{premises.base}/checkins", json=checkin_body({"visitor": visitor}, answers=answers)
    ).get_json()
    calm = client.post(
        f"{premises.base}/checkins",
        json=checkin_body(
            {"worker": premises.worker_identity()},
            answers=[{"question_id": premises.question.id, "answer": "no"}],
        ),
    ).get_json()

    log = client.get("/hr/checkin/log").get_data(as_text=True)
    alerts_only = client.get("/hr/checkin/log?alerts=1").get_data(as_text=True)
    detail = client.get(f"/hr/checkin/events/{alerting['id']}").get_data(as_text=True)

    assert "<script>alert(1)</script>" not in log
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in log
    assert "&lt;b&gt;đau họng&lt;/b&gt;" in log
    assert "<b>đau họng</b>" not in detail
    assert alerting["id"] in alerts_only
    assert calm["id"] not in alerts_only
    assert calm["id"] in log
    assert "Cửa nhà ăn" in log
    assert (
        db.session.scalar(
            select(func.count(AuditLog.id)).where(AuditLog.action == "view_self_checkins")
        )
        == 2
    )


def test_the_log_shows_only_the_own_enterprises_self_checkins(client, premises) -> None:
    other = make_enterprise()
    other_poster = make_poster(enterprise=other)
    their_worker = make_worker(other, phone="0944444444")
    theirs = {"employee_code": their_worker.employee_code, "phone": their_worker.phone}
    foreign = client.post(
        f"/c/{other_poster.token}/checkins", json=checkin_body({"worker": theirs})
    ).get_json()
    hr_of(premises, client)

    log = client.get("/hr/checkin/log").get_data(as_text=True)

    assert foreign["status"] == "accepted"
    assert foreign["id"] not in log
    assert their_worker.full_name not in log
    assert client.get(f"/hr/checkin/events/{foreign['id']}").status_code == 404
    assert client.get(f"/hr/checkin/posters/{other_poster.id}").status_code == 404


def test_inspectors_cannot_change_posters(client, premises) -> None:
    inspector = make_user("inspector")
    login(client, inspector)

    assert client.post(f"/hr/checkin/posters/{premises.poster.id}/rotate").status_code == 403
    assert client.get("/hr/checkin/posters").status_code == 403


def test_adding_a_poster_keeps_the_gates_own_code_as_its_first(client, premises) -> None:
    hr_of(premises, client)
    gate = make_gate(premises.enterprise, name="Cổng kho")

    client.post("/hr/checkin/posters", data={"gate_id": gate.id, "label": "Cửa sau kho"})

    tokens = set(db.session.scalars(select(GatePoster.token).where(GatePoster.gate_id == gate.id)))
    assert gate.poster_token in tokens
    assert len(tokens) == 2
    assert client.get(f"/c/{gate.poster_token}").status_code == 200
