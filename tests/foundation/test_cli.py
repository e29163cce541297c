"""The command-line verbs: seeding, users and tablet enrolment codes."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from server.extensions import db
from server.models import EnrolmentCode, Enterprise, GateEvent, User, Worker
from server.tokens import hash_secret
from tests.factories import make_enterprise, make_gate, make_zone


def run(app, *args: str):
    return app.test_cli_runner().invoke(args=list(args))


def fingerprint() -> tuple:
    names = db.session.scalars(select(Worker.full_name).order_by(Worker.id)).all()
    events = db.session.scalar(select(func.count(GateEvent.id)))
    provinces = db.session.scalar(select(func.count(func.distinct(Worker.home_province_code))))
    return tuple(names), events, provinces


def test_seed_demo_is_deterministic_and_realistic(app) -> None:
    result = run(app, "seed-demo", "--seed", "7", "--workers", "200", "--days", "3")
    assert result.exit_code == 0, result.output
    assert "admin / demo-admin" in result.output
    first = fingerprint()
    names, events, provinces = first
    assert len(names) == 200
    assert events > 200
    assert provinces >= 10
    assert (
        db.session.scalar(select(func.count(Enterprise.id)).where(Enterprise.zone_id.is_(None)))
        == 1
    )
    assert {u.role for u in db.session.scalars(select(User))} == {"admin", "inspector", "hr"}

    again = run(app, "seed-demo")
    assert again.exit_code != 0
    assert "already holds data" in again.output
    assert run(app, "seed-demo", "--if-empty").exit_code == 0


def test_enroll_code_prints_a_one_use_code_stored_only_as_hash(app) -> None:
    enterprise = make_enterprise(tax_code="0101010101")
    gate = make_gate(enterprise, code="G1")
    for reference in (str(gate.id), "0101010101:G1", "G1"):
        result = run(app, "enroll-code", "--gate", reference)
        assert result.exit_code == 0, result.output
        code = re.search(r"GL1:E:([A-Z2-7]{10})", result.output).group(1)
        stored = db.session.scalar(
            select(EnrolmentCode).where(EnrolmentCode.code_hash == hash_secret(code))
        )
        assert stored.gate_id == gate.id
        assert code not in {row.code_hash for row in db.session.scalars(select(EnrolmentCode))}
    assert run(app, "enroll-code", "--gate", "nope").exit_code != 0


def test_ambiguous_gate_code_asks_for_the_tax_code(app) -> None:
    make_gate(make_enterprise(), code="G9")
    make_gate(make_enterprise(), code="G9")
    result = run(app, "enroll-code", "--gate", "G9")
    assert result.exit_code != 0
    assert "TAXCODE:G9" in result.output


def test_create_user_scopes_hr_and_inspector(app) -> None:
    enterprise = make_enterprise(tax_code="0202020202")
    zone = make_zone(name="KCN Đình Trám")
    assert (
        run(
            app,
            "create-user",
            "--username",
            "hr9",
            "--role",
            "hr",
            "--enterprise",
            "0202020202",
            "--password",
            "river lantern autumn",
        ).exit_code
        == 0
    )
    assert (
        run(
            app,
            "create-user",
            "--username",
            "ins9",
            "--role",
            "inspector",
            "--zone",
            "KCN Đình Trám",
            "--password",
            "river lantern autumn",
        ).exit_code
        == 0
    )
    assert (
        run(app, "create-user", "--username", "hr8", "--role", "hr", "--password", "pw").exit_code
        != 0
    )
    hr = db.session.scalar(select(User).where(User.username == "hr9"))
    inspector = db.session.scalar(select(User).where(User.username == "ins9"))
    assert hr.enterprise_id == enterprise.id
    assert [z.id for z in inspector.zones] == [zone.id]
    assert hr.check_password("river lantern autumn")
