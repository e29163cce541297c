"""Roll-call pages: who is inside across gates now, and the roll calls tablets sent. On hr's bp."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, render_template, request
from flask_login import current_user

from server.access import get_scoped_or_404, role_required
from server.admin.config import max_stay_hours
from server.hr import bp
from server.hr.rollcall import services
from server.models import RollCall, utcnow

# Roll calls are drills and emergencies: a month of them is what a review looks back on.
SHOWN_ROLL_CALLS_DAYS = 31
# An evacuation and its aftermath fit in half a day: ticks of older roll calls are history,
# read on their own pages, and must not mark anyone safe today.
CURRENT_ROLL_CALLS_HOURS = 12


@bp.route("/rollcall")
@role_required("hr")
def rollcall():
    now = utcnow()
    people = services.people_inside(
        current_user, now=now, shift_hours=max_stay_hours(current_app.config["GATELOG"])
    )
    seen = services.sightings(current_user, since=now - timedelta(hours=CURRENT_ROLL_CALLS_HOURS))
    return render_template(
        "hr/rollcall/index.html",
        now=now,
        people=people,
        groups=services.by_department(people),
        overdue=sum(person.overdue for person in people),
        seen=seen,
        not_seen=sum(person.key not in seen for person in people),
        current_hours=CURRENT_ROLL_CALLS_HOURS,
        roll_calls=services.roll_calls(
            current_user, since=now - timedelta(days=SHOWN_ROLL_CALLS_DAYS)
        ),
        visitors=services.VISITORS,
    )


@bp.route("/rollcall/<int:roll_call_id>")
@role_required("hr")
def rollcall_detail(roll_call_id: int):
    roll_call = get_scoped_or_404(RollCall, roll_call_id)
    detail = services.roll_call_detail(
        current_user, roll_call, now=utcnow(), ip=request.remote_addr or ""
    )
    return render_template("hr/rollcall/detail.html", detail=detail, visitors=services.VISITORS)
