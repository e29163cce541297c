"""HR pages for self check-in: posters, rotation, declaration questions, the self check-in log."""

from __future__ import annotations

import uuid

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from server.access import get_scoped_or_404, role_required, scoped
from server.auth.forms import EmptyForm
from server.extensions import db
from server.hr import bp
from server.hr.checkin import poster as printing
from server.hr.checkin import services
from server.hr.checkin.forms import PosterForm, QuestionForm, SelfLogFilterForm
from server.models import DeclarationQuestion, Gate, GatePoster, SelfCheckin, utcnow
from server.qr import qr_path, qr_png

# A poster's QR printed on its own at about 300 dpi for a 10 cm sign.
POSTER_PNG_BOX_PIXELS = 20


def _ip() -> str:
    return request.remote_addr or ""


def _poster_url(poster: GatePoster) -> str:
    return url_for("checkin.page", poster_token=poster.token, _external=True)


def _poster_form() -> PosterForm:
    form = PosterForm()
    form.set_gates(
        list(db.session.scalars(scoped(Gate).where(Gate.active.is_(True)).order_by(Gate.code)))
    )
    return form


def _posters_page(form: PosterForm, status: int = 200):
    gates = services.posters_by_gate(current_user)
    page = render_template("hr/checkin/posters.html", gates=gates, form=form, action=EmptyForm())
    return page, status


@bp.get("/checkin/posters")
@role_required("hr")
def checkin_posters():
    """Each gate's QR posters, and a form for one more."""
    return _posters_page(_poster_form())


@bp.post("/checkin/posters")
@role_required("hr")
def checkin_poster_add():
    form = _poster_form()
    if not form.validate_on_submit():
        return _posters_page(form, 400)
    gate = get_scoped_or_404(Gate, form.gate_id.data)
    poster = services.add_poster(current_user, gate, label=form.label.data, now=utcnow(), ip=_ip())
    flash(_("Poster added. Print it and post it at %(label)s.", label=poster.label), "success")
    return redirect(url_for("hr.checkin_poster", poster_id=poster.id))


@bp.get("/checkin/posters/<int:poster_id>")
@role_required("hr")
def checkin_poster(poster_id: int):
    """The A4 print view of one poster."""
    poster = get_scoped_or_404(GatePoster, poster_id)
    screen_url = (
        url_for("checkin.screen_page", screen_key=poster.screen_key, _external=True)
        if poster.on_screen
        else None
    )
    return render_template(
        "hr/checkin/poster_print.html",
        poster=poster,
        svg=_poster_svg(poster),
        url=_poster_url(poster),
        screen_url=screen_url,
        action=EmptyForm(),
    )


def _poster_svg(poster: GatePoster) -> str:
    size, path = qr_path(_poster_url(poster))
    return render_template(
        "hr/checkin/poster.svg",
        poster=poster,
        url=_poster_url(poster),
        qr_size=size,
        qr_path=path,
        instructions=printing.instructions(),
    )


def _download(body: str | bytes, mimetype: str, poster: GatePoster, extension: str) -> Response:
    name = f"poster-{poster.gate.code}-{poster.id}.{extension}"
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.get("/checkin/posters/<int:poster_id>/poster.svg")
@role_required("hr")
def checkin_poster_svg(poster_id: int):
    """The whole A4 poster as SVG."""
    poster = get_scoped_or_404(GatePoster, poster_id)
    return _download(_poster_svg(poster), "image/svg+xml", poster, "svg")


@bp.get("/checkin/posters/<int:poster_id>/qr.png")
@role_required("hr")
def checkin_poster_png(poster_id: int):
    """The poster's QR code alone as PNG."""
    poster = get_scoped_or_404(GatePoster, poster_id)
    return _download(
        qr_png(_poster_url(poster), box_size=POSTER_PNG_BOX_PIXELS), "image/png", poster, "png"
    )


@bp.post("/checkin/posters/<int:poster_id>/rotate")
@role_required("hr")
def checkin_poster_rotate(poster_id: int):
    poster = get_scoped_or_404(GatePoster, poster_id)
    if EmptyForm().validate_on_submit():
        services.rotate_poster(current_user, poster, now=utcnow(), ip=_ip())
        flash(
            _("New code made. The old printed poster no longer records anything: print this one."),
            "success",
        )
    return redirect(url_for("hr.checkin_poster", poster_id=poster.id))


@bp.post("/checkin/posters/<int:poster_id>/screen")
@role_required("hr")
def checkin_poster_screen(poster_id: int):
    """Switch a poster between its printed code and a changing code on a gate screen."""
    poster = get_scoped_or_404(GatePoster, poster_id)
    if EmptyForm().validate_on_submit():
        on = request.form.get("on") == "1"
        services.set_on_screen(current_user, poster, on=on, now=utcnow(), ip=_ip())
        if on:
            flash(
                _("Open the screen link on the gate tablet: the printed code no longer works."),
                "success",
            )
        else:
            flash(_("The printed code works again; the screen link no longer does."), "success")
    return redirect(url_for("hr.checkin_poster", poster_id=poster.id))


@bp.post("/checkin/posters/<int:poster_id>/active")
@role_required("hr")
def checkin_poster_active(poster_id: int):
    poster = get_scoped_or_404(GatePoster, poster_id)
    if EmptyForm().validate_on_submit():
        active = request.form.get("active") == "1"
        services.set_poster_active(current_user, poster, active=active, now=utcnow(), ip=_ip())
        flash(
            _("Poster enabled.") if active else _("Poster disabled: it records nothing now."),
            "success",
        )
    return redirect(url_for("hr.checkin_posters"))


def _questions_page(form: QuestionForm, status: int = 200):
    active, retired = services.questions(current_user)
    page = render_template(
        "hr/checkin/questions.html", active=active, retired=retired, form=form, action=EmptyForm()
    )
    return page, status


@bp.get("/checkin/questions")
@role_required("hr")
def checkin_questions():
    """The health declaration asked at self check-in, and its past versions."""
    return _questions_page(QuestionForm())


@bp.post("/checkin/questions")
@role_required("hr")
def checkin_question_add():
    form = QuestionForm()
    if not form.validate_on_submit():
        return _questions_page(form, 400)
    services.add_question(current_user, form.data, now=utcnow(), ip=_ip())
    flash(_("Question added."), "success")
    return redirect(url_for("hr.checkin_questions"))


@bp.route("/checkin/questions/<int:question_id>", methods=["GET", "POST"])
@role_required("hr")
def checkin_question(question_id: int):
    """Edit a question: the new wording is a new version, the answers given keep the old one."""
    question = get_scoped_or_404(DeclarationQuestion, question_id)
    form = QuestionForm(obj=question)
    if question.active and form.validate_on_submit():
        services.revise_question(current_user, question, form.data, now=utcnow(), ip=_ip())
        flash(_("Question changed: a new version is asked from now on."), "success")
        return redirect(url_for("hr.checkin_questions"))
    status = 400 if request.method == "POST" else 200
    return render_template("hr/checkin/question.html", question=question, form=form), status


@bp.post("/checkin/questions/<int:question_id>/retire")
@role_required("hr")
def checkin_question_retire(question_id: int):
    question = get_scoped_or_404(DeclarationQuestion, question_id)
    if question.active and EmptyForm().validate_on_submit():
        services.retire_question(current_user, question, now=utcnow(), ip=_ip())
        flash(_("Question removed from the declaration."), "success")
    return redirect(url_for("hr.checkin_questions"))


@bp.get("/checkin/log")
@role_required("hr")
def checkin_log():
    """Self check-ins with their declarations, alerts first to the eye."""
    form = SelfLogFilterForm(request.args)
    alerts_only = form.alerts.data == "1"
    page = request.args.get("page", 1, type=int) or 1
    page = max(1, min(page, 10_000))
    rows = services.self_checkins(
        current_user, alerts_only=alerts_only, page=page, now=utcnow(), ip=_ip()
    )
    return render_template(
        "hr/checkin/log.html",
        rows=rows[: services.PAGE_SIZE],
        has_more=len(rows) > services.PAGE_SIZE,
        page=page,
        form=form,
        alerts_only=alerts_only,
    )


@bp.get("/checkin/events/<uuid:event_id>")
@role_required("hr")
def checkin_event(event_id: uuid.UUID):
    """One self check-in with its declaration, as the person answered it."""
    checkin = get_scoped_or_404(SelfCheckin, event_id)
    row = services.self_checkin(current_user, checkin, now=utcnow(), ip=_ip())
    return render_template("hr/checkin/event.html", row=row)
