"""Backfill pages: type in or import a paper log, see the dry run, commit. On the hr blueprint."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, flash, render_template, request
from flask_login import current_user
from wtforms import SelectChoice

from server.access import role_required, scoped
from server.admin.config import effective, ingest_policy
from server.extensions import db
from server.hr import bp
from server.hr.backfill import messages
from server.hr.backfill.forms import FROM_FILE, CommitForm, EntryForm, PaperFileForm
from server.hr.backfill.paper import read_paper_log
from server.hr.backfill.services import Options, Plan, commit_backfill, plan_backfill
from server.hr.roster.importer import ImportFileError
from server.models.org import Gate
from server.models.types import utcnow


def _gates() -> list[Gate]:
    return list(db.session.scalars(scoped(Gate).order_by(Gate.code)))


def _forms() -> tuple[EntryForm, PaperFileForm]:
    gates = _gates()
    entry, paper = EntryForm(prefix="entry"), PaperFileForm(prefix="paper")
    choices = [SelectChoice(gate.id, f"{gate.code} · {gate.name}") for gate in gates]
    entry.gate_id.choices = choices
    paper.gate_id.choices = [SelectChoice(FROM_FILE, messages.FROM_FILE_CHOICE), *choices]
    return entry, paper


def _index(entry: EntryForm, paper: PaperFileForm, status: int = 200):
    return render_template("hr/backfill/index.html", entry=entry, paper=paper), status


def _plan_page(plan: Plan, options: Options, rows: list[Any], source: str, *, committed: bool):
    commit = CommitForm(
        formdata=None,
        tolerance=int(options.tolerance.total_seconds() // 60),
        gate_id=options.gate_id,
        day=options.day,
        source=source,
        lines=json.dumps(rows, ensure_ascii=False),
    )
    return render_template(
        "hr/backfill/plan.html",
        plan=plan,
        commit=commit,
        committed=committed,
        source=source,
        gates={gate.id: gate for gate in _gates()},
        messages=messages,
    )


def _timezone() -> str:
    return current_app.config["GATELOG"].timezone


@bp.route("/backfill/")
@role_required("hr")
def backfill():
    return _index(*_forms())


@bp.route("/backfill/entry", methods=["POST"])
@role_required("hr")
def backfill_entry():
    entry, paper = _forms()
    if not entry.validate_on_submit():
        return _index(entry, paper, 400)
    rows = entry.rows()
    options = entry.options(gate_id=entry.gate_id.data)
    plan = plan_backfill(current_user, rows, options, now=utcnow(), timezone=_timezone())
    return _plan_page(plan, options, rows, "", committed=False)


@bp.route("/backfill/import", methods=["POST"])
@role_required("hr")
def backfill_import():
    entry, paper = _forms()
    if not paper.validate_on_submit():
        return _index(entry, paper, 400)
    upload = paper.file.data
    try:
        rows = read_paper_log(upload.filename or "", upload.stream)
    except ImportFileError as error:
        paper.file.errors.append(messages.FILE_PROBLEMS[error.code])
        return _index(entry, paper, 400)
    options = paper.options(gate_id=paper.gate_id.data or None, day=paper.day.data)
    plan = plan_backfill(current_user, rows, options, now=utcnow(), timezone=_timezone())
    return _plan_page(plan, options, rows, upload.filename or "", committed=False)


@bp.route("/backfill/commit", methods=["POST"])
@role_required("hr")
def backfill_commit():
    form = CommitForm()
    if not form.validate_on_submit():
        for errors in form.errors.values():
            for error in errors:
                flash(str(error), "error")
        return _index(*_forms(), status=400)
    options = form.options(gate_id=form.gate_id.data or None, day=form.day.data)
    plan = commit_backfill(
        current_user,
        form.rows,
        options,
        now=utcnow(),
        timezone=_timezone(),
        policy=ingest_policy(effective(current_app.config["GATELOG"])),
        ip=request.remote_addr or "",
        source=form.source.data or "",
    )
    return _plan_page(plan, options, form.rows, form.source.data or "", committed=True)
