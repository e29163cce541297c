from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from server.auth import bp, services
from server.auth.forms import ChangePasswordForm, EmptyForm, LoginForm
from server.extensions import limiter
from server.i18n import LANGUAGES
from server.models import utcnow

HOME_BY_ROLE = {"hr": "hr.index", "inspector": "board.index", "admin": "admin.index"}


def home_url() -> str:
    return url_for(HOME_BY_ROLE.get(current_user.role, "auth.login"))


def _safe_next(target: str | None) -> str | None:
    # Only same-site paths: an open redirect after login is a phishing aid.
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def _login_limit() -> str:
    return current_app.config["GATELOG"].login_rate_limit


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(home_url())
    form = LoginForm()
    if form.validate_on_submit():
        user = services.authenticate(form.username.data, form.password.data, now=utcnow())
        if user is None:
            flash(_("Wrong username or password."), "error")
        else:
            login_user(user)
            session.pop("lang", None)
            return redirect(_safe_next(request.args.get("next")) or home_url())
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout():
    if EmptyForm().validate_on_submit():
        if current_user.is_authenticated:
            services.sign_out_everywhere(current_user)
        logout_user()
        flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
@limiter.limit(_login_limit, methods=["POST"])
def change_password():
    form = ChangePasswordForm(username=current_user.username)
    if form.validate_on_submit():
        changed = services.change_own_password(
            current_user, form.current_password.data, form.password.data, now=utcnow()
        )
        if changed:
            # The new session token ended this browser's session too; carry on under the new one.
            login_user(current_user._get_current_object())
            flash(_("Password changed. You were signed out everywhere else."), "info")
            return redirect(home_url())
        form.current_password.errors = [_("The current password is wrong.")]
    return render_template("auth/password.html", form=form)


@bp.route("/language/<code>", methods=["POST"])
def set_language(code: str):
    if code in LANGUAGES and EmptyForm().validate_on_submit():
        session["lang"] = code
        if current_user.is_authenticated:
            services.set_language(current_user, code)
    return redirect(_safe_next(request.form.get("next")) or url_for("auth.login"))
