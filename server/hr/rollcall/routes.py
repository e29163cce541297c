"""Roll-call pages: who is inside across gates now, and the roll calls tablets sent. On hr's bp."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_login import current_user

from server.access import get_scoped_or_404, role_required
from server.admin.config import max_stay_hours
from server.exports import Sheet, csv_response, xlsx_response
from server.hr import bp
from server.hr.activity.services import audit_export
from server.hr.rollcall import services
from server.models import RollCall, utcnow

# Roll calls are drills and emergencies: a month of them is what a review looks back on.
SHOWN_ROLL_CALLS_DAYS = 31
# Names a page lists at most; past that it counts by department and names one department at a
# time (the export names everyone): a large site has tens of thousands inside.
LISTED_PEOPLE = 300


@bp.route("/rollcall")
@role_required("hr")
def rollcall():
    now = utcnow()
    inside = services.people_inside(
        current_user, now=now, shift_hours=max_stay_hours(current_app.config["GATELOG"])
    )
    seen = services.sightings(current_user, now=now)
    counts = inside.groups()
    chosen = request.args.get("group")
    groups, listed_total = services.listed(inside, counts, seen, chosen, LISTED_PEOPLE)
    return render_template(
        "hr/rollcall/index.html",
        now=now,
        inside_total=sum(count.inside for count in counts),
        counts=counts,
        chosen=chosen,
        groups=groups,
        listed_total=listed_total,
        overdue=sum(count.overdue for count in counts),
        seen=seen,
        not_seen=sum(count.not_seen for count in counts),
        current_hours=int(services.CURRENT_ROLL_CALLS.total_seconds() // 3600),
        roll_calls=services.roll_calls(
            current_user, since=now - timedelta(days=SHOWN_ROLL_CALLS_DAYS)
        ),
        visitors=services.VISITORS,
    )


@bp.route("/rollcall/export.<any(csv, xlsx):fmt>")
@role_required("hr")
def rollcall_export(fmt: str):
    now = utcnow()
    shift_hours = max_stay_hours(current_app.config["GATELOG"])
    audit_export(current_user, "rollcall", fmt, {}, now=now, ip=request.remote_addr or "")
    inside = services.people_inside(current_user, now=now, shift_hours=shift_hours)
    header = [str(title) for title in services.EXPORT_HEADER]
    rows = services.export_rows(inside, services.sightings(current_user, now=now))
    stamp = now.astimezone(ZoneInfo(current_app.config["GATELOG"].timezone))
    filename = f"diem-danh-{stamp:%Y%m%d-%H%M}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, header, rows)
    return xlsx_response(filename, [Sheet(_("Evacuation roll call"), header, rows)])


@bp.route("/rollcall/<int:roll_call_id>")
@role_required("hr")
def rollcall_detail(roll_call_id: int):
    roll_call = get_scoped_or_404(RollCall, roll_call_id)
    detail = services.roll_call_detail(
        current_user, roll_call, now=utcnow(), ip=request.remote_addr or ""
    )
    return render_template("hr/rollcall/detail.html", detail=detail, visitors=services.VISITORS)
