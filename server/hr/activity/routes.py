"""HR activity pages: parse, call a service, render. Attached to the hr blueprint."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import (
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from server.access import get_scoped_or_404, role_required, scoped
from server.admin.config import effective, max_stay_hours
from server.clock import in_zone, local_today
from server.exports import Sheet, csv_response, xlsx_response
from server.extensions import db
from server.hr import bp
from server.hr.activity import gates as gate_services
from server.hr.activity import presence as presence_services
from server.hr.activity import services
from server.hr.activity.charts import hourly_chart
from server.hr.activity.forms import (
    ActionForm,
    GateForm,
    IdCardFieldsForm,
    LogFilterForm,
    PresenceForm,
    ResolveForm,
)
from server.models import Device, Gate, GateEvent, Worker, utcnow
from server.qr import qr_svg
from server.settings import Settings
from sync.engine import REASONS


def _settings() -> Settings:
    return current_app.config["GATELOG"]


def _ip() -> str:
    return request.remote_addr or ""


def device_clock(at: datetime, offset_minutes: int) -> str | None:
    """The tablet's own clock reading, when its stated offset is not the local one."""
    local_offset = in_zone(at, ZoneInfo(_settings().timezone)).utcoffset()
    if local_offset == timedelta(minutes=offset_minutes):
        return None
    shown = services.device_time(at, offset_minutes)
    # The offset shown is the one applied: UTC where the tablet's day is beyond the calendar.
    shown_minutes = int((shown.utcoffset() or timedelta()).total_seconds() // 60)
    sign = "+" if shown_minutes >= 0 else "-"
    hours, minutes = divmod(abs(shown_minutes), 60)
    return f"{shown:%d/%m %H:%M:%S} UTC{sign}{hours:02d}:{minutes:02d}"


def reason_text(code: str) -> str:
    """Why the server refused a record, in the reader's language (the sync engine's words)."""
    english, vietnamese = REASONS.get(code, (code, code))
    return vietnamese if str(get_locale()) == "vi" else english


def _render(template: str, **context: Any) -> str:
    return render_template(
        f"hr/activity/{template}",
        device_clock=device_clock,
        subject_label=services.subject_label,
        **context,
    )


def _query_without(*names: str) -> dict[str, Any]:
    """The current query string minus `names`, for links that keep the filters."""
    args = MultiDict(request.args)
    for name in names:
        args.pop(name, None)
    return args.to_dict(flat=True)


def _warn_if_broken(page: services.Page) -> None:
    if page.broken_cursor:
        flash(_("This page link is broken; showing the first page."), "warning")


def _log_form() -> LogFilterForm:
    form = LogFilterForm(request.args)
    gates = list(db.session.scalars(scoped(Gate).order_by(Gate.code)))
    devices = list(db.session.scalars(scoped(Device).order_by(Device.label)))
    form.set_choices(gates, devices)
    return form


@bp.route("/log")
@role_required("hr")
def log():
    form = _log_form()
    page = None
    if form.validate():
        page = services.log_page(
            current_user,
            form.to_filter(),
            timezone=_settings().timezone,
            cursor=form.cursor.data,
        )
        _warn_if_broken(page)
    return _render("log.html", form=form, page=page, query=_query_without("cursor"))


@bp.route("/log/export.<any(csv, xlsx):fmt>")
@role_required("hr")
def log_export(fmt: str):
    form = _log_form()
    if not form.validate():
        flash(_("Fix the filters before exporting."), "error")
        return redirect(url_for("hr.log", **_query_without("cursor")))
    filters = form.to_filter()
    settings = _settings()
    services.audit_export(
        current_user, "log", fmt, {"filters": filters.describe()}, now=utcnow(), ip=_ip()
    )
    header = [str(title) for title in services.LOG_EXPORT_HEADER]
    rows = services.export_log_rows(
        current_user, filters, timezone=settings.timezone, words=form.words()
    )
    filename = f"nhat-ky-cong-{local_today(utcnow(), settings.timezone):%Y%m%d}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, header, rows)
    return xlsx_response(filename, [Sheet(_("Gate log"), header, rows)])


@bp.route("/log/people/<int:worker_id>")
@role_required("hr")
def timeline(worker_id: int):
    worker = get_scoped_or_404(Worker, worker_id)
    page = services.timeline_page(
        current_user,
        worker,
        now=utcnow(),
        timezone=_settings().timezone,
        cursor=request.args.get("cursor"),
        ip=_ip(),
    )
    _warn_if_broken(page)
    return _render("timeline.html", worker=worker, page=page)


@bp.route("/log/unresolved")
@role_required("hr")
def unresolved():
    page = services.log_page(
        current_user,
        services.LogFilter(unresolved_only=True),
        timezone=_settings().timezone,
        cursor=request.args.get("cursor"),
    )
    _warn_if_broken(page)
    return _render("unresolved.html", page=page, form=ResolveForm())


@bp.route("/log/events/<uuid:event_id>/resolve", methods=["POST"])
@role_required("hr")
def resolve_event(event_id):
    event = get_scoped_or_404(GateEvent, event_id)
    form = ResolveForm()
    if not form.validate():
        flash(_("Enter the employee code of the person."), "error")
        return redirect(url_for("hr.unresolved"))
    try:
        worker = services.resolve_event(
            current_user, event, form.employee_code.data, now=utcnow(), ip=_ip()
        )
    except services.ActivityError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("hr.unresolved"))
    flash(_("Linked to %(name)s (%(code)s).", name=worker.full_name, code=worker.employee_code))
    return redirect(url_for("hr.unresolved"))


@bp.route("/log/quarantined")
@role_required("hr")
def quarantined():
    page = services.quarantined_page(current_user, cursor=request.args.get("cursor"))
    _warn_if_broken(page)
    return _render("quarantined.html", page=page, reason_text=reason_text)


def _presence_form() -> tuple[PresenceForm, float]:
    form = PresenceForm(request.args)
    valid = form.validate()
    shift_hours = form.shift_hours.data if valid and form.shift_hours.data else None
    return form, shift_hours or max_stay_hours(_settings())


@bp.route("/presence")
@role_required("hr")
def presence():
    form, shift_hours = _presence_form()
    now = utcnow()
    settings = _settings()
    day = (form.day.data if not form.day.errors else None) or local_today(now, settings.timezone)
    form.shift_hours.data = form.shift_hours.data or shift_hours
    form.day.data = form.day.data or day
    state = presence_services.presence(current_user, now=now, shift_hours=shift_hours)
    chart = hourly_chart(
        presence_services.hourly_movements(current_user, day, timezone=settings.timezone)
    )
    return _render(
        "presence.html",
        form=form,
        state=state,
        chart=chart,
        day=day,
        query=request.args.to_dict(flat=True),
    )


@bp.route("/presence/export.<any(csv, xlsx):fmt>")
@role_required("hr")
def presence_export(fmt: str):
    _form, shift_hours = _presence_form()
    now = utcnow()
    services.audit_export(
        current_user, "presence", fmt, {"shift_hours": shift_hours}, now=now, ip=_ip()
    )
    header = [str(title) for title in presence_services.PRESENCE_EXPORT_HEADER]
    statuses = (str(presence_services.STATUS_ON_SITE), str(presence_services.STATUS_NO_EXIT))
    rows = presence_services.export_presence_rows(
        current_user, now=now, shift_hours=shift_hours, statuses=statuses
    )
    stamp = now.astimezone(ZoneInfo(_settings().timezone))
    filename = f"co-mat-{stamp:%Y%m%d-%H%M}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, header, rows)
    return xlsx_response(filename, [Sheet(_("On site"), header, rows)])


@bp.route("/gates")
@role_required("hr")
def gates():
    return _render(
        "gates.html",
        gates=gate_services.list_gates(current_user),
        form=ActionForm(),
        id_card_form=IdCardFieldsForm(fields_kept=gate_services.id_card_fields(current_user)),
    )


@bp.route("/gates/id-card", methods=["POST"])
@role_required("hr")
def gates_id_card():
    form = IdCardFieldsForm()
    if not form.validate_on_submit():
        flash(_("Choose among the fields listed."), "error")
        return redirect(url_for("hr.gates"))
    # Nothing ticked posts no value at all: the name only.
    kept = form.fields_kept.data or []
    gate_services.set_id_card_fields(current_user, kept, now=utcnow(), ip=_ip())
    flash(_("Saved. Each tablet applies it after its next roster update."))
    return redirect(url_for("hr.gates"))


@bp.route("/gates/new", methods=["GET", "POST"])
@role_required("hr")
def gate_new():
    form = GateForm()
    if form.validate_on_submit():
        try:
            gate = gate_services.create_gate(
                current_user, code=form.code.data, name=form.name.data, now=utcnow(), ip=_ip()
            )
        except services.ActivityError as error:
            db.session.rollback()
            form.code.errors.append(str(error))
        else:
            flash(_("Gate %(code)s created.", code=gate.code))
            return redirect(url_for("hr.gates"))
    return _render("gate_form.html", form=form, gate=None)


@bp.route("/gates/<int:gate_id>/edit", methods=["GET", "POST"])
@role_required("hr")
def gate_edit(gate_id: int):
    gate = get_scoped_or_404(Gate, gate_id)
    form = GateForm(obj=gate)
    if form.validate_on_submit():
        try:
            gate_services.update_gate(
                current_user,
                gate,
                code=form.code.data,
                name=form.name.data,
                active=form.active.data,
                now=utcnow(),
                ip=_ip(),
            )
        except services.ActivityError as error:
            db.session.rollback()
            form.code.errors.append(str(error))
        else:
            flash(_("Gate %(code)s saved.", code=gate.code))
            return redirect(url_for("hr.gates"))
    return _render("gate_form.html", form=form, gate=gate)


def poster_url(gate: Gate) -> str:
    return f"{request.host_url}c/{gate.poster_token}"


@bp.route("/gates/<int:gate_id>/poster")
@role_required("hr")
def gate_poster(gate_id: int):
    gate = get_scoped_or_404(Gate, gate_id)
    url = poster_url(gate)
    return _render("gate_poster.html", gate=gate, url=url, qr=qr_svg(url))


@bp.route("/gates/<int:gate_id>/enrol", methods=["POST"])
@role_required("hr")
def gate_enrol(gate_id: int):
    gate = get_scoped_or_404(Gate, gate_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        issued = gate_services.enrol_tablet(current_user, gate, now=utcnow(), ip=_ip())
    except services.ActivityError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("hr.gates"))
    response = make_response(
        _render("enrolment.html", gate=gate, issued=issued, qr=qr_svg(issued.qr_content))
    )
    # The code is a one-time secret: no cache may keep the page.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/tablets")
@role_required("hr")
def tablets():
    # The board's thresholds, as the administrator set them: HR and inspectors see one state.
    thresholds = effective(_settings())
    states = gate_services.list_tablets(
        current_user,
        now=utcnow(),
        lagging_after=timedelta(minutes=thresholds.lagging_after_minutes),
        stale_after=timedelta(hours=thresholds.stale_after_hours),
        skew_flag_seconds=thresholds.skew_flag_seconds,
    )
    return _render("tablets.html", states=states, form=ActionForm())


@bp.route("/tablets/<int:device_id>/replace", methods=["POST"])
@role_required("hr")
def tablet_replace(device_id: int):
    device = get_scoped_or_404(Device, device_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        issued = gate_services.replace_tablet(current_user, device, now=utcnow(), ip=_ip())
    except services.ActivityError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("hr.tablets"))
    page = _render(
        "enrolment.html",
        gate=device.gate,
        issued=issued,
        qr=qr_svg(issued.qr_content),
        replaces=device,
    )
    response = make_response(page)
    # The code is a one-time secret: no cache may keep the page.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/tablets/<int:device_id>/revoke", methods=["POST"])
@role_required("hr")
def tablet_revoke(device_id: int):
    device = get_scoped_or_404(Device, device_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        gate_services.revoke_tablet(current_user, device, now=utcnow(), ip=_ip())
    except services.ActivityError as error:
        db.session.rollback()
        flash(str(error), "error")
    else:
        flash(_("Tablet %(label)s revoked: it can no longer sync.", label=device.label))
    return redirect(url_for("hr.tablets"))
