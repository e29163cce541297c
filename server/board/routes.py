"""The board console: thin views over health, labour, tracing and audit services."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import timedelta

from flask import abort, current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from server import exports
from server.access import get_scoped_or_404, role_required
from server.admin import letterhead
from server.admin.config import effective
from server.board import auditlog, bp, documents, health, labour, tracing, wording
from server.board.forms import (
    AuditFilterForm,
    HealthFilterForm,
    LabourFilterForm,
    PersonSearchForm,
    SendListForm,
    TracingForm,
    local_to_utc,
)
from server.clock import local_day_bounds, local_today
from server.models import Device, Enterprise, Visitor, Worker, Zone, utcnow
from server.provinces import PROVINCE_SHORT_NAMES, province_name

BOARD_ROLES = ("inspector", "admin")
HISTORY_PER_PAGE = 50
TABLETS_PER_PAGE = 100
AUDIT_PER_PAGE = 50
TABLET_SORTS = {
    "enterprise": lambda t: (t.enterprise_name, t.gate_name),
    "gate": lambda t: (t.gate_name, t.enterprise_name),
    "tablet": lambda t: t.label,
    "status": lambda t: health.STATUS_ORDER.index(t.status),
    "last_sync": lambda t: t.last_sync_at.timestamp() if t.last_sync_at else 0,
    "last_event": lambda t: t.last_event_at.timestamp() if t.last_event_at else 0,
    "backlog": lambda t: t.backlog,
    "waiting": lambda t: t.oldest_pending_age.total_seconds() if t.oldest_pending_age else 0,
    "missing": lambda t: t.missing,
    "skew": lambda t: abs(t.skew_seconds or 0),
    "version": lambda t: t.app_version,
    "quarantined": lambda t: t.quarantined,
    "per_day": lambda t: t.events_per_day,
}
# Sorting by what the tablets sent lately needs it for every tablet, not only the page's.
ACTIVITY_SORTS = ("last_event", "quarantined", "per_day")


@bp.context_processor
def board_helpers() -> dict[str, object]:
    return {**wording.template_helpers(), "province_name": province_name}


def _settings():  # type: ignore[no-untyped-def]
    return current_app.config["GATELOG"]


def _thresholds():  # type: ignore[no-untyped-def]
    return effective(_settings())


def _checked_scope(form) -> tuple[int | None, int | None]:  # type: ignore[no-untyped-def]
    """The zone and enterprise filters, each proven visible to the user (404 otherwise)."""
    zone_id, enterprise_id = form.value("zone_id"), form.value("enterprise_id")
    if zone_id is not None:
        get_scoped_or_404(Zone, zone_id)
    if enterprise_id is not None:
        get_scoped_or_404(Enterprise, enterprise_id)
    return zone_id, enterprise_id


@bp.route("/")
@role_required(*BOARD_ROLES)
def index():
    form = HealthFilterForm()
    form.validate()
    zone_id, enterprise_id = _checked_scope(form)
    filters = health.Filters(
        zone_id, enterprise_id, form.value("status") or None, form.value("q") or ""
    )
    thresholds = _thresholds()
    now = utcnow()
    report = health.sync_health(current_user, now=now, thresholds=thresholds, filters=filters)
    sort = form.value("sort") if form.value("sort") in TABLET_SORTS else "status"
    exported = form.value("format") in ("csv", "xlsx")
    if exported or sort in ACTIVITY_SORTS:
        health.with_activity(report.tablets, now=now)
    report.tablets.sort(key=TABLET_SORTS[sort], reverse=form.value("dir") == "desc")
    if exported:
        return _health_export(report.tablets, form.value("format"))
    zones, enterprises = labour.zones_and_enterprises(current_user)
    pages = max(1, -(-len(report.tablets) // TABLETS_PER_PAGE))
    page = min(form.value("page") or 1, pages)
    tablets = report.tablets[(page - 1) * TABLETS_PER_PAGE : page * TABLETS_PER_PAGE]
    if sort not in ACTIVITY_SORTS:
        health.with_activity(tablets, now=now)
    return render_template(
        "board/index.html",
        form=form,
        report=report,
        tablets=tablets,
        page=page,
        pages=pages,
        sort=sort,
        zones=zones,
        enterprises=enterprises,
        thresholds=thresholds,
    )


def _health_export(tablets: list[health.TabletHealth], fmt: str):  # type: ignore[no-untyped-def]
    header = [
        _("Zone"),
        _("Enterprise"),
        _("Gate"),
        _("Tablet"),
        _("Status"),
        _("Reason"),
        _("Last sync"),
        _("Last record"),
        _("Waiting on tablet"),
        _("Oldest waiting (minutes)"),
        _("Missing records"),
        _("Clock skew (s)"),
        _("App version"),
        _("Quarantined"),
        _("Records per day"),
    ]
    rows = (
        [
            t.zone_name,
            t.enterprise_name,
            t.gate_name,
            t.label,
            str(wording.STATUS_LABELS[t.status]),
            "; ".join(wording.reason(r) for r in t.reasons),
            t.last_sync_at,
            t.last_event_at,
            t.backlog,
            int(t.oldest_pending_age.total_seconds() // 60) if t.oldest_pending_age else None,
            t.missing,
            t.skew_seconds,
            t.app_version,
            t.quarantined,
            t.events_per_day,
        ]
        for t in tablets
    )
    name = f"sync-health-{utcnow():%Y%m%d-%H%M}"
    if fmt == "csv":
        return exports.csv_response(f"{name}.csv", header, rows)
    return exports.xlsx_response(f"{name}.xlsx", [exports.Sheet(_("Sync health"), header, rows)])


@bp.route("/enterprises/<int:enterprise_id>")
@role_required(*BOARD_ROLES)
def enterprise(enterprise_id: int):
    enterprise = get_scoped_or_404(Enterprise, enterprise_id)
    now = utcnow()
    report = health.sync_health(
        current_user,
        now=now,
        thresholds=_thresholds(),
        filters=health.Filters(enterprise_id=enterprise.id),
    )
    return render_template(
        "board/enterprise.html",
        enterprise=enterprise,
        report=report,
        gate_status=health.gate_statuses(report.tablets),
        chart=health.lag_chart(enterprise.id, now=now),
    )


@bp.route("/devices/<int:device_id>")
@role_required(*BOARD_ROLES)
def device(device_id: int):
    device = get_scoped_or_404(Device, device_id)
    page = request.args.get("page", 1, type=int) or 1
    history = health.tablet_history(device, page=max(page, 1), per_page=HISTORY_PER_PAGE)
    now = utcnow()
    report = health.sync_health(
        current_user,
        now=now,
        thresholds=_thresholds(),
        filters=health.Filters(enterprise_id=device.enterprise_id),
    )
    tablet = next(t for t in report.tablets if t.device_id == device.id)
    health.with_activity([tablet], now=now)
    return render_template(
        "board/device.html",
        device=device,
        tablet=tablet,
        history=history,
        page=max(page, 1),
        pages=max(1, -(-history.total_batches // HISTORY_PER_PAGE)),
    )


def _labour_scope(form: LabourFilterForm) -> labour.Scope:
    zone_id, enterprise_id = _checked_scope(form)
    return labour.Scope(zone_id, enterprise_id, form.value("by") or "zone")


def _provinces_asked(form: LabourFilterForm) -> list[int | None] | None:
    chosen = form.value("province")
    if not chosen:
        return None
    return [None] if chosen == "unknown" else [int(chosen)]


@bp.route("/labour")
@role_required(*BOARD_ROLES)
def labour_report():
    form = LabourFilterForm()
    form.validate()
    scope = _labour_scope(form)
    report = labour.province_report(current_user, scope)
    if form.value("format") == "xlsx":
        return _labour_summary_export(report)
    zones, enterprises = labour.zones_and_enterprises(current_user)
    return render_template(
        "board/labour.html", form=form, report=report, zones=zones, enterprises=enterprises
    )


def _labour_summary_export(report: labour.ProvinceReport):  # type: ignore[no-untyped-def]
    header = [_("No."), _("Home province"), _("Before 1 July 2025, as imported")]
    header += [c.name or _("Outside zones") for c in report.columns]
    header += [_("In zones"), _("Outside zones"), _("Total")]

    def rows():  # type: ignore[no-untyped-def]
        for number, row in enumerate(report.rows, 1):
            yield [
                number,
                row.name or _("Unknown"),
                ", ".join(f"{name} ({count})" for name, count in row.legacy.items()),
                *[row.cells.get(c.key, 0) for c in report.columns],
                row.inside,
                row.outside,
                row.total,
            ]
        totals = report.totals
        yield [
            "",
            _("Total"),
            "",
            *[totals.cells.get(c.key, 0) for c in report.columns],
            totals.inside,
            totals.outside,
            totals.total,
        ]

    return exports.xlsx_response(
        f"workers-by-province-{utcnow():%Y%m%d}.xlsx",
        [exports.Sheet(_("By province"), header, rows())],
    )


def _worker_sheets(workers: Iterable[labour.ListedWorker]) -> Iterator[exports.Sheet]:
    """One sheet per home province, each numbered from 1, ready to send to that province."""
    header = [
        _("No."),
        _("Full name"),
        _("Phone"),
        _("Permanent residence"),
        _("Home province as imported"),
        _("Enterprise"),
        _("Department"),
        _("Last seen"),
    ]
    current: list[labour.ListedWorker] = []
    for worker in workers:
        if current and current[0].province_code != worker.province_code:
            yield _province_sheet(current, header)
            current = []
        current.append(worker)
    if current:
        yield _province_sheet(current, header)


def _province_sheet(workers: list[labour.ListedWorker], header: list[str]) -> exports.Sheet:
    rows = [
        [
            n,
            w.full_name,
            w.phone,
            w.permanent_address,
            w.home_province_raw,
            w.enterprise,
            w.department,
            w.last_seen,
        ]
        for n, w in enumerate(workers, 1)
    ]
    return exports.Sheet(province_name(workers[0].province_code) or _("Unknown"), header, rows)


@bp.route("/labour/workers.xlsx")
@role_required(*BOARD_ROLES)
def labour_workers():
    form = LabourFilterForm()
    form.validate()
    scope = _labour_scope(form)
    provinces = _provinces_asked(form)
    now = utcnow()
    labour.record_export(
        current_user,
        "board.export_workers_by_province",
        scope,
        now=now,
        ip=request.remote_addr or "",
        province=form.value("province") or "all",
    )
    workers = labour.worker_list(current_user, scope, provinces=provinces)
    suffix = province_name(provinces[0]) if provinces and provinces[0] else "all"
    return exports.xlsx_response(f"workers-{suffix}-{now:%Y%m%d}.xlsx", _worker_sheets(workers))


def _document_letterhead() -> documents.Letterhead:
    saved = letterhead.current()
    return documents.Letterhead(
        superior_body=saved.superior_body,
        body=saved.body,
        number_suffix=saved.number_suffix,
        place=saved.place,
        signer_capacity=saved.signer_capacity,
        signer_title=saved.signer_title,
        signer_name=saved.signer_name,
        recipients=tuple(line.strip() for line in saved.recipients.splitlines() if line.strip()),
    )


def _area(scope: labour.Scope) -> str:
    """Where the document's workers work, in the words of its title."""
    if scope.enterprise_id is not None:
        return get_scoped_or_404(Enterprise, scope.enterprise_id).name
    if scope.zone_id is not None:
        return f"các doanh nghiệp trong {get_scoped_or_404(Zone, scope.zone_id).name}"
    return "các doanh nghiệp trong và ngoài các khu công nghiệp"


def _document_download(document: documents.Document, fmt: str):  # type: ignore[no-untyped-def]
    if fmt == "pdf":
        content, mimetype = documents.to_pdf(document), exports.PDF_MIMETYPE
    else:
        content, mimetype = documents.to_xlsx(document), exports.XLSX_MIMETYPE
    return exports.document_response(f"{document.filename}.{fmt}", content, mimetype)


@bp.route("/labour/appendix-01.<any(xlsx, pdf):document_format>")
@role_required(*BOARD_ROLES)
def labour_appendix(document_format: str):
    form = LabourFilterForm()
    form.validate()
    scope = _labour_scope(form)
    report = labour.province_report(current_user, scope)
    now = utcnow()
    document = documents.appendix_01(
        report,
        _document_letterhead(),
        area=_area(scope),
        as_of=local_today(now, current_app.config["GATELOG"].timezone),
        by_enterprise=scope.by == "enterprise",
    )
    return _document_download(document, document_format)


@bp.route("/labour/province-list.<any(xlsx, pdf):document_format>")
@role_required(*BOARD_ROLES)
def labour_province_list(document_format: str):
    form = LabourFilterForm()
    provinces = _provinces_asked(form) if form.validate() else None
    if not provinces:
        message = _("Choose one province: each province's list is its own document.")
        return render_template("error.html", status=400, message=message), 400
    scope = _labour_scope(form)
    workers = list(labour.worker_list(current_user, scope, provinces=provinces))
    now = utcnow()
    labour.record_export(
        current_user,
        "board.export_province_list",
        scope,
        now=now,
        ip=request.remote_addr or "",
        province=form.value("province"),
        rows=len(workers),
        format=document_format,
    )
    document = documents.province_list(
        workers,
        provinces[0],
        _document_letterhead(),
        area=_area(scope),
        as_of=local_today(now, current_app.config["GATELOG"].timezone),
    )
    return _document_download(document, document_format)


def _known_province(form: LabourFilterForm) -> int:
    chosen = form.value("province")
    if not chosen or not chosen.isdigit() or int(chosen) not in PROVINCE_SHORT_NAMES:
        abort(404)
    return int(chosen)


@bp.route("/labour/province-list/changes")
@role_required(*BOARD_ROLES)
def list_changes():
    form = LabourFilterForm()
    form.validate()
    province = _known_province(form)
    scope = _labour_scope(form)
    days = form.value("days") or _thresholds().gone_home_after_days
    changes = labour.changes_since_sent(
        current_user, scope, province, gone_home_before=utcnow() - timedelta(days=days)
    )
    send_form = SendListForm(
        province=province, zone_id=scope.zone_id, enterprise_id=scope.enterprise_id
    )
    return render_template(
        "board/list_changes.html",
        changes=changes,
        province=province,
        days=int(days),
        send_form=send_form,
    )


@bp.route("/labour/province-list/send", methods=["POST"])
@role_required(*BOARD_ROLES)
def send_list():
    form = SendListForm()
    if not form.validate_on_submit() or form.province.data not in PROVINCE_SHORT_NAMES:
        message = _("Say to which department the list goes, then send it again.")
        return render_template("error.html", status=400, message=message), 400
    for model, ident in ((Zone, form.zone_id.data), (Enterprise, form.enterprise_id.data)):
        if ident is not None:
            get_scoped_or_404(model, ident)
    scope = labour.Scope(form.zone_id.data, form.enterprise_id.data)
    now = utcnow()
    sent, workers = labour.send_list(
        current_user, scope, form.province.data, form.recipient.data.strip(), now=now
    )
    document = documents.province_list(
        workers,
        sent.province_code,
        _document_letterhead(),
        area=_area(scope),
        as_of=local_today(now, current_app.config["GATELOG"].timezone),
    )
    return _document_download(document, "pdf")


@bp.route("/labour/sent")
@role_required(*BOARD_ROLES)
def sent_lists():
    return render_template("board/sent_lists.html", sent=labour.sent_lists(current_user))


@bp.route("/labour/past-retention")
@role_required(*BOARD_ROLES)
def past_retention():
    form = LabourFilterForm()
    form.validate()
    days = labour.purged_days(current_user, _labour_scope(form))
    zones, enterprises = labour.zones_and_enterprises(current_user)
    return render_template(
        "board/past_retention.html", form=form, days=days, zones=zones, enterprises=enterprises
    )


@bp.route("/labour/gone-home")
@role_required(*BOARD_ROLES)
def gone_home():
    form = LabourFilterForm()
    form.validate()
    scope = _labour_scope(form)
    days = form.value("days") or _thresholds().gone_home_after_days
    now = utcnow()
    before = now - timedelta(days=days)
    if form.value("format") == "xlsx":
        labour.record_export(
            current_user,
            "board.export_gone_home",
            scope,
            now=now,
            ip=request.remote_addr or "",
            days=days,
            province=form.value("province") or "all",
        )
        workers = labour.worker_list(
            current_user, scope, provinces=_provinces_asked(form), gone_home_before=before
        )
        return exports.xlsx_response(f"likely-gone-home-{now:%Y%m%d}.xlsx", _worker_sheets(workers))
    rows = labour.gone_home_by_province(current_user, scope, before=before)
    zones, enterprises = labour.zones_and_enterprises(current_user)
    return render_template(
        "board/gone_home.html",
        form=form,
        rows=rows,
        days=int(days),
        before=before,
        total=sum(r.count for r in rows),
        zones=zones,
        enterprises=enterprises,
    )


@bp.route("/tracing")
@role_required(*BOARD_ROLES)
def tracing_search():
    form = PersonSearchForm()
    form.validate()
    matches = tracing.search_people(current_user, form.value("q") or "")
    return render_template("board/tracing_search.html", form=form, matches=matches)


def _trace(subject: Worker | Visitor, kind: str):  # type: ignore[no-untyped-def]
    settings, thresholds = _settings(), _thresholds()
    now = utcnow()
    form = TracingForm()
    if not request.args:
        form.since_yesterday(now, settings.timezone)
    if not request.args or not form.validate():
        return render_template(
            "board/tracing.html", form=form, subject=subject, kind=kind, result=None
        )
    exporting = form.value("format") in ("csv", "xlsx")
    result = tracing.trace(
        current_user,
        subject,
        start=local_to_utc(form.start.data, settings.timezone),
        end=local_to_utc(form.end.data, settings.timezone),
        shift=timedelta(hours=thresholds.shift_hours),
        now=now,
        limit=None if exporting else tracing.CONTACTS_SHOWN,
        ip=request.remote_addr or "",
    )
    if exporting:
        return _tracing_export(subject, result, form.value("format"))
    return render_template(
        "board/tracing.html", form=form, subject=subject, kind=kind, result=result
    )


def _tracing_export(subject: Worker | Visitor, result: tracing.TraceResult, fmt: str):  # type: ignore[no-untyped-def]
    header = [
        _("No."),
        _("Kind"),
        _("Full name"),
        _("Details"),
        _("Enterprise"),
        _("Overlap (minutes)"),
        _("First overlap"),
        _("Last overlap"),
        _("Gates"),
    ]
    kinds = {"worker": _("Worker"), "visitor": _("Visitor"), "unresolved": _("Unresolved record")}
    rows = [
        [
            n,
            kinds[c.kind],
            c.name,
            c.detail,
            c.enterprise,
            c.minutes,
            c.first_at,
            c.last_at,
            ", ".join(c.gates),
        ]
        for n, c in enumerate(result.contacts, 1)
    ]
    name = f"contacts-{subject.id}-{utcnow():%Y%m%d-%H%M}"
    if fmt == "csv":
        return exports.csv_response(f"{name}.csv", header, rows)
    return exports.xlsx_response(f"{name}.xlsx", [exports.Sheet(_("Contacts"), header, rows)])


@bp.route("/tracing/workers/<int:worker_id>")
@role_required(*BOARD_ROLES)
def trace_worker(worker_id: int):
    return _trace(get_scoped_or_404(Worker, worker_id), "worker")


@bp.route("/tracing/visitors/<int:visitor_id>")
@role_required(*BOARD_ROLES)
def trace_visitor(visitor_id: int):
    return _trace(get_scoped_or_404(Visitor, visitor_id), "visitor")


@bp.route("/audit")
@role_required(*BOARD_ROLES)
def audit():
    form = AuditFilterForm()
    form.validate()
    enterprise_id = form.value("enterprise_id")
    if enterprise_id is not None:
        get_scoped_or_404(Enterprise, enterprise_id)
    timezone = _settings().timezone
    start, end = form.value("start"), form.value("end")
    filters = auditlog.AuditFilters(
        username=form.value("username") or "",
        action=form.value("action") or "",
        enterprise_id=enterprise_id,
        start=local_day_bounds(start, timezone)[0] if start else None,
        end=local_day_bounds(end, timezone)[1] if end else None,
    )
    if form.value("format") in ("csv", "xlsx"):
        header = [
            _("Time"),
            _("User"),
            _("Action"),
            _("Target"),
            _("Enterprise"),
            _("IP"),
            _("Details"),
        ]
        rows = (
            [
                at,
                username or "",
                action,
                f"{kind} {target}".strip(),
                name or "",
                ip,
                str(details or ""),
            ]
            for at, username, action, kind, target, name, ip, details in auditlog.all_entries(
                current_user, filters
            )
        )
        if form.value("format") == "csv":
            return exports.csv_response(f"audit-{utcnow():%Y%m%d}.csv", header, rows)
        return exports.xlsx_response(
            f"audit-{utcnow():%Y%m%d}.xlsx", [exports.Sheet(_("Audit log"), header, rows)]
        )
    page = form.value("page") or 1
    result = auditlog.audit_page(current_user, filters, page=page, per_page=AUDIT_PER_PAGE)
    _zones, enterprises = labour.zones_and_enterprises(current_user)
    return render_template(
        "board/audit.html",
        form=form,
        result=result,
        page=page,
        enterprises=enterprises,
        pages=max(1, -(-result.total // AUDIT_PER_PAGE)),
    )
