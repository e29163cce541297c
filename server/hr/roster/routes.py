"""Roster, badge and visitor-pass pages: parse, call a service, render. On the hr blueprint."""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from server.access import get_scoped_or_404, role_required
from server.auth.forms import EmptyForm
from server.clock import local_today
from server.exports import Sheet, csv_response, xlsx_response
from server.hr import bp
from server.hr.roster import badges, importer, messages, passes, services
from server.hr.roster.forms import (
    CommitImportForm,
    ImportForm,
    PassForm,
    RosterSearchForm,
    WorkerForm,
)
from server.models import VisitorPass, Worker, utcnow
from server.ops import metrics
from server.provinces import province_name
from server.qr import qr_png, qr_svg
from server.settings import Settings

EXPORT_FORMATS = "<any(csv, xlsx):fmt>"


def _settings() -> Settings:
    return current_app.config["GATELOG"]


def _ip() -> str:
    return request.remote_addr or ""


def _page() -> int:
    return max(request.args.get("page", 1, type=int), 1)


def _render(template: str, **context: Any) -> str:
    return render_template(
        f"hr/roster/{template}",
        province_name=province_name,
        messages=messages,
        flags=importer.FLAGS,
        **context,
    )


def _filters(form: RosterSearchForm) -> services.RosterFilter:
    if not form.validate():
        return services.RosterFilter()
    return services.RosterFilter(
        q=form.q.data or "", department=form.department.data or "", status=form.status.data
    )


def _search_form() -> RosterSearchForm:
    return RosterSearchForm(request.args)


@bp.route("/roster/")
@role_required("hr")
def roster():
    form = _search_form()
    filters = _filters(form)
    return _render(
        "list.html",
        form=form,
        filters=filters,
        page=services.roster_page(current_user, filters, _page()),
        departments=services.departments(current_user),
    )


@bp.route("/roster/new", methods=["GET", "POST"])
@role_required("hr")
def roster_new():
    form = WorkerForm()
    now = utcnow()
    if form.validate_on_submit():
        values = form.worker_values(today=local_today(now, _settings().timezone))
        if values is not None:
            try:
                worker = services.create_worker(current_user, values, now=now, ip=_ip())
            except services.RosterError as error:
                form.employee_code.errors.append(messages.ROSTER_PROBLEMS[error.code])
            else:
                flash(_("Worker %(name)s added.", name=worker.full_name), "info")
                return redirect(url_for("hr.roster_worker", worker_id=worker.id))
    return _worker_form(form, None)


@bp.route("/roster/<int:worker_id>")
@role_required("hr")
def roster_worker(worker_id: int):
    worker = get_scoped_or_404(Worker, worker_id)
    services.record_view(current_user, worker, now=utcnow(), ip=_ip())
    return _render("worker.html", worker=worker, action_form=EmptyForm())


@bp.route("/roster/<int:worker_id>/edit", methods=["GET", "POST"])
@role_required("hr")
def roster_edit(worker_id: int):
    worker = get_scoped_or_404(Worker, worker_id)
    form = WorkerForm(obj=worker)
    now = utcnow()
    if request.method == "GET":
        form.home_province.data = worker.home_province_raw
        if worker.date_of_birth is None and worker.birth_year:
            form.date_of_birth.data = str(worker.birth_year)
        services.record_view(current_user, worker, now=now, ip=_ip())
    elif form.validate_on_submit():
        values = form.worker_values(today=local_today(now, _settings().timezone))
        if values is not None:
            try:
                changed = services.update_worker(current_user, worker, values, now=now, ip=_ip())
            except services.RosterError as error:
                form.employee_code.errors.append(messages.ROSTER_PROBLEMS[error.code])
            else:
                if changed:
                    flash(_("Changes saved; the gates get them at their next sync."), "info")
                return redirect(url_for("hr.roster_worker", worker_id=worker_id))
    return _worker_form(form, worker)


def _worker_form(form: WorkerForm, worker: Worker | None) -> str:
    departments = services.departments(current_user)
    return _render("form.html", form=form, worker=worker, departments=departments)


@bp.route("/roster/<int:worker_id>/deactivate", methods=["POST"])
@role_required("hr")
def roster_deactivate(worker_id: int):
    return _set_active(worker_id, active=False)


@bp.route("/roster/<int:worker_id>/reactivate", methods=["POST"])
@role_required("hr")
def roster_reactivate(worker_id: int):
    return _set_active(worker_id, active=True)


def _set_active(worker_id: int, *, active: bool):
    worker = get_scoped_or_404(Worker, worker_id)
    if EmptyForm().validate_on_submit():
        services.set_active(current_user, worker, active, now=utcnow(), ip=_ip())
        if active:
            flash(_("%(name)s is active again.", name=worker.full_name), "info")
        else:
            flash(
                _(
                    "%(name)s is deactivated: gates refuse the badge after their next sync.",
                    name=worker.full_name,
                ),
                "info",
            )
    return redirect(url_for("hr.roster_worker", worker_id=worker_id))


@bp.route("/roster/<int:worker_id>/badge/reissue", methods=["POST"])
@role_required("hr")
def roster_reissue(worker_id: int):
    worker = get_scoped_or_404(Worker, worker_id)
    if EmptyForm().validate_on_submit():
        services.reissue_badge(current_user, worker, now=utcnow(), ip=_ip())
        flash(
            _("New badge issued: the old one stops working at each gate's next sync."),
            "info",
        )
    return redirect(url_for("hr.roster_worker", worker_id=worker_id))


@bp.route("/roster/<int:worker_id>/badge")
@role_required("hr")
def roster_badge(worker_id: int):
    worker = get_scoped_or_404(Worker, worker_id)
    workers = services.printed_badges(current_user, [worker.id], None, now=utcnow(), ip=_ip())
    return _badge_sheet(workers)


@bp.route("/roster/badges")
@role_required("hr")
def roster_badges():
    chosen = [int(value) for value in request.args.getlist("worker") if value.isdigit()]
    filters = _filters(_search_form())
    workers = services.printed_badges(current_user, chosen, filters, now=utcnow(), ip=_ip())
    return _badge_sheet(workers)


def _badge_sheet(workers: list[Worker]) -> str:
    cards = [
        (worker, qr_svg(badges.badge_content(worker.badge_token)))
        for worker in workers
        if worker.badge_token
    ]
    return _render(
        "badges.html",
        cards=cards,
        enterprise=current_user.enterprise,
        limit=services.MAX_BADGES,
    )


@bp.route(f"/roster/export.{EXPORT_FORMATS}")
@role_required("hr")
def roster_export(fmt: str) -> Response:
    filters = _filters(_search_form())
    now = utcnow()
    rows = services.export_roster(current_user, filters, fmt=fmt, now=now, ip=_ip())
    header = services.export_header()
    filename = f"danh-sach-lao-dong-{local_today(now, _settings().timezone):%Y%m%d}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, header, rows)
    return xlsx_response(filename, [Sheet(_("Roster"), header, rows)])


@bp.route("/roster/import", methods=["GET", "POST"])
@role_required("hr")
def roster_import():
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        try:
            sheet = importer.read_sheet(importer.read_table(upload.filename or "", upload.stream))
        except importer.ImportFileError as error:
            form.file.errors.append(messages.FILE_PROBLEMS[error.code])
        else:
            now = utcnow()
            staged = services.stage_import(current_user, upload.filename or "", sheet, now=now)
            plan = services.plan_import(
                current_user, staged, now=now, timezone=_settings().timezone
            )
            return _render(
                "import_report.html",
                staged=staged,
                plan=plan,
                commit_form=CommitImportForm(key=staged.key),
                committed=False,
            )
    return _render("import.html", form=form, column_names=importer.COLUMN_NAMES)


@bp.route("/roster/import/template.xlsx")
@role_required("hr")
def roster_import_template() -> Response:
    header = [vietnamese for vietnamese, _english in importer.COLUMN_NAMES.values()]
    return xlsx_response("mau-danh-sach-lao-dong.xlsx", [Sheet("Danh sách", header, [])])


@bp.route("/roster/import/commit", methods=["POST"])
@role_required("hr")
def roster_import_commit():
    form = CommitImportForm()
    if not form.validate_on_submit():
        flash(messages.ROSTER_PROBLEMS["import_expired"], "error")
        return redirect(url_for("hr.roster_import"))
    now = utcnow()
    try:
        with metrics.timed_job("roster_import"):
            staged, plan = services.commit_import(
                current_user, form.key.data, now=now, timezone=_settings().timezone, ip=_ip()
            )
    except services.RosterError as error:
        flash(messages.ROSTER_PROBLEMS[error.code], "error")
        return redirect(url_for("hr.roster_import"))
    flash(
        _(
            "Import done: %(created)s added, %(updated)s updated, %(refused)s refused.",
            created=plan.count("create"),
            updated=plan.count("update"),
            refused=plan.count("refused"),
        ),
        "info",
    )
    return _render("import_report.html", staged=staged, plan=plan, commit_form=None, committed=True)


@bp.route("/passes/")
@role_required("hr")
def passes_list():
    status = request.args.get("status", "current")
    if status not in passes.STATUSES:
        status = "current"
    now = utcnow()
    return _render(
        "passes.html",
        status=status,
        page=passes.pass_page(current_user, status, _page(), now=now),
        now=now,
    )


@bp.route("/passes/new", methods=["GET", "POST"])
@role_required("hr")
def pass_new():
    form = PassForm()
    now = utcnow()
    timezone = _settings().timezone
    if request.method == "GET":
        form.fill_today(now=now, timezone=timezone)
    elif form.validate_on_submit():
        pass_request = form.pass_request(now=now, timezone=timezone)
        if pass_request is not None:
            visitor_pass = passes.register_visitor(current_user, pass_request, now=now, ip=_ip())
            flash(_("Pass created: print it or show it on a phone at the gate."), "info")
            return redirect(url_for("hr.pass_detail", pass_id=visitor_pass.id))
    return _render("pass_form.html", form=form)


@bp.route("/passes/<int:pass_id>")
@role_required("hr")
def pass_detail(pass_id: int):
    visitor_pass = get_scoped_or_404(VisitorPass, pass_id)
    now = utcnow()
    passes.record_view(current_user, visitor_pass, now=now, ip=_ip())
    return _render(
        "pass.html",
        visitor_pass=visitor_pass,
        qr=qr_svg(badges.pass_content(visitor_pass.token)),
        now=now,
        action_form=EmptyForm(),
        enterprise=current_user.enterprise,
    )


@bp.route("/passes/<int:pass_id>/qr.png")
@role_required("hr")
def pass_qr(pass_id: int) -> Response:
    visitor_pass = get_scoped_or_404(VisitorPass, pass_id)
    response = Response(qr_png(badges.pass_content(visitor_pass.token)), mimetype="image/png")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/passes/<int:pass_id>/revoke", methods=["POST"])
@role_required("hr")
def pass_revoke(pass_id: int):
    visitor_pass = get_scoped_or_404(VisitorPass, pass_id)
    if EmptyForm().validate_on_submit():
        passes.revoke(current_user, visitor_pass, now=utcnow(), ip=_ip())
        flash(_("Pass revoked: gates refuse it after their next sync."), "info")
    return redirect(url_for("hr.pass_detail", pass_id=pass_id))
