"""The pairing-flags page, its resolve and reopen actions: parse, call a service. On hr's bp."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from server.access import get_scoped_or_404, role_required
from server.admin.config import max_stay_hours
from server.clock import local_today
from server.hr import bp
from server.hr.pairing import services
from server.hr.pairing.forms import FlagForm, PairingFilterForm, ResolveFlagForm
from server.models import GateEvent, utcnow

FILTER_ARGUMENTS = ("day_from", "day_to", "resolved", "page")


def _filters() -> dict[str, Any]:
    """The page's own query arguments, carried from the list to its resolve buttons and back."""
    return {name: value for name, value in request.args.items() if name in FILTER_ARGUMENTS}


def _shift() -> timedelta:
    return timedelta(hours=max_stay_hours(current_app.config["GATELOG"]))


@bp.route("/pairing")
@role_required("hr")
def pairing():
    now = utcnow()
    timezone = current_app.config["GATELOG"].timezone
    form = PairingFilterForm(request.args)
    found = None
    page = max(request.args.get("page", 1, type=int), 1)
    if form.validate_range(local_today(now, timezone)):
        found = services.pairing_flags(
            current_user,
            day_from=form.day_from.data,
            day_to=form.day_to.data,
            timezone=timezone,
            shift=_shift(),
            now=now,
            include_resolved=bool(form.resolved.data),
            page=page,
        )
    return render_template(
        "hr/pairing/index.html",
        form=form,
        found=found,
        page=page,
        pages=max(1, -(-found.total // services.PER_PAGE)) if found else 1,
        # Translated once for the page, not once per row.
        flag_labels={flag: str(label) for flag, label in services.FLAG_LABELS.items()},
        resolve_form=ResolveFlagForm(),
        reopen_form=FlagForm(),
        shift_hours=_shift().total_seconds() / 3600,
        query=_filters(),
    )


def _act_on_flag(event_id, form, act: Callable[[GateEvent, Any], None], *, refused: str, done: str):
    """Resolve or reopen: the event in the user's scope, the flag named by the form, then back."""
    event = get_scoped_or_404(GateEvent, event_id)
    back = url_for("hr.pairing", **_filters())
    if not form.validate():
        flash(refused, "error")
        return redirect(back)
    try:
        act(event, form)
    except services.PairingError as error:
        flash(str(error), "error")
    else:
        flash(done)
    return redirect(back)


@bp.route("/pairing/events/<uuid:event_id>/resolve", methods=["POST"])
@role_required("hr")
def pairing_resolve(event_id):
    return _act_on_flag(
        event_id,
        ResolveFlagForm(),
        lambda event, form: services.resolve_flag(
            current_user,
            event,
            form.flag.data,
            form.note.data or "",
            shift=_shift(),
            now=utcnow(),
            ip=request.remote_addr or "",
        ),
        refused=_("This flag cannot be resolved: reload the page and try again."),
        done=_("Flag resolved; the gate record is kept as it was."),
    )


@bp.route("/pairing/events/<uuid:event_id>/reopen", methods=["POST"])
@role_required("hr")
def pairing_reopen(event_id):
    return _act_on_flag(
        event_id,
        FlagForm(),
        lambda event, form: services.reopen_flag(
            current_user, event, form.flag.data, now=utcnow(), ip=request.remote_addr or ""
        ),
        refused=_("This flag cannot be reopened: reload the page and try again."),
        done=_("Flag reopened; the earlier resolution stays in the audit log."),
    )
