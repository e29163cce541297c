"""The administration console: thin views over server.admin.services."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from server.access import get_scoped_or_404, role_required
from server.admin import bp, config, letterhead, services
from server.admin.forms import (
    ROLE_LABELS,
    EnterpriseForm,
    LetterheadForm,
    NewUserForm,
    PasswordForm,
    SettingsForm,
    UserForm,
    ZoneForm,
)
from server.extensions import db
from server.models import Enterprise, User, Zone, utcnow
from server.provinces import PROVINCE_SHORT_NAMES

admin_only = role_required("admin")


@bp.context_processor
def admin_helpers() -> dict[str, object]:
    return {"province_names": PROVINCE_SHORT_NAMES, "role_labels": ROLE_LABELS}


@bp.route("/")
@admin_only
def index():
    return render_template("admin/index.html", figures=services.overview())


def _zone_form(zone: Zone | None = None) -> ZoneForm:
    form = ZoneForm(obj=zone)
    provinces = sorted(PROVINCE_SHORT_NAMES.items(), key=lambda item: item[1])
    form.province_code.choices = [SelectChoice(0, "—")] + [
        SelectChoice(code, name) for code, name in provinces
    ]
    return form


def _saved_zone(form, zone: Zone | None) -> bool:  # type: ignore[no-untyped-def]
    """Save a new (`zone` None) or edited zone from its form; flash the outcome."""
    try:
        services.save_zone(
            current_user,
            zone,
            name=form.name.data,
            province_code=form.province_code.data,
            now=utcnow(),
        )
    except services.Conflict:
        flash(_("A zone with this name already exists."), "error")
        return False
    flash(_("Zone saved."), "info")
    return True


@bp.route("/zones", methods=["GET", "POST"])
@admin_only
def zones():
    form = _zone_form()
    if form.validate_on_submit() and _saved_zone(form, None):
        return redirect(url_for("admin.zones"))
    return render_template("admin/zones.html", form=form, zones=services.zones(current_user))


@bp.route("/zones/<int:zone_id>", methods=["GET", "POST"])
@admin_only
def zone(zone_id: int):
    zone = get_scoped_or_404(Zone, zone_id)
    form = _zone_form(zone)
    if form.validate_on_submit() and _saved_zone(form, zone):
        return redirect(url_for("admin.zones"))
    return render_template("admin/zone.html", form=form, zone=zone)


def _enterprise_form(enterprise: Enterprise | None = None) -> EnterpriseForm:
    form = EnterpriseForm(obj=enterprise)
    if enterprise is not None and form.zone_id.data is None:
        form.zone_id.data = 0
    form.zone_id.choices = [SelectChoice(0, _("Outside zones"))] + [
        SelectChoice(z.id, z.name) for z, _n in services.zones(current_user)
    ]
    return form


def _save_enterprise(form: EnterpriseForm, enterprise: Enterprise | None):  # type: ignore[no-untyped-def]
    try:
        services.save_enterprise(
            current_user,
            enterprise,
            tax_code=form.tax_code.data,
            name=form.name.data,
            address=form.address.data or "",
            zone_id=form.zone_id.data,
            now=utcnow(),
        )
    except services.Conflict:
        flash(_("An enterprise with this tax code already exists."), "error")
        return None
    flash(_("Enterprise saved."), "info")
    return redirect(url_for("admin.enterprises"))


@bp.route("/enterprises", methods=["GET", "POST"])
@admin_only
def enterprises():
    form = _enterprise_form()
    if form.validate_on_submit() and (done := _save_enterprise(form, None)):
        return done
    return render_template(
        "admin/enterprises.html", form=form, enterprises=services.enterprises(current_user)
    )


@bp.route("/enterprises/<int:enterprise_id>", methods=["GET", "POST"])
@admin_only
def enterprise(enterprise_id: int):
    enterprise = get_scoped_or_404(Enterprise, enterprise_id)
    form = _enterprise_form(enterprise)
    if form.validate_on_submit() and (done := _save_enterprise(form, enterprise)):
        return done
    return render_template("admin/enterprise.html", form=form, enterprise=enterprise)


def _fill_user_choices(form: UserForm) -> UserForm:
    form.enterprise_id.choices = [SelectChoice(0, "—")] + [
        SelectChoice(e.id, f"{e.name} ({e.tax_code})")
        for e, _z in services.enterprises(current_user)
    ]
    form.zone_ids.choices = [SelectChoice(z.id, z.name) for z, _n in services.zones(current_user)]
    return form


def _user_fields(form: UserForm) -> services.UserFields:
    return services.UserFields(
        username=form.username.data,
        full_name=form.full_name.data or "",
        role=form.role.data,
        enterprise_id=form.enterprise_id.data or None,
        zone_ids=list(form.zone_ids.data or []),
        active=bool(form.active.data),
    )


@bp.route("/users", methods=["GET", "POST"])
@admin_only
def users():
    form = _fill_user_choices(NewUserForm())
    if form.validate_on_submit():
        try:
            services.save_user(
                current_user, None, _user_fields(form), password=form.password.data, now=utcnow()
            )
        except services.Conflict:
            flash(_("This username is taken."), "error")
        else:
            flash(_("User created."), "info")
            return redirect(url_for("admin.users"))
    return render_template("admin/users.html", form=form, users=services.users(current_user))


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@admin_only
def user(user_id: int):
    user = get_scoped_or_404(User, user_id)
    form = _fill_user_choices(UserForm(obj=user))
    if not form.is_submitted():
        form.enterprise_id.data = user.enterprise_id or 0
        form.zone_ids.data = [z.id for z in user.zones]
    if form.validate_on_submit():
        try:
            services.save_user(current_user, user, _user_fields(form), password=None, now=utcnow())
        except services.Conflict:
            db.session.rollback()
            flash(_("Not saved: the username is taken, or you would lock yourself out."), "error")
        else:
            flash(_("User saved."), "info")
            return redirect(url_for("admin.users"))
    return render_template(
        "admin/user.html",
        form=form,
        user=user,
        password_form=PasswordForm(formdata=None, username=user.username),
    )


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@admin_only
def user_password(user_id: int):
    user = get_scoped_or_404(User, user_id)
    form = PasswordForm(username=user.username)
    if form.validate_on_submit():
        services.reset_password(current_user, user, form.password.data, now=utcnow())
        flash(_("Password reset. Give the new password to the user in person."), "info")
        return redirect(url_for("admin.user", user_id=user.id))
    for error in form.password.errors:
        flash(error, "error")
    return redirect(url_for("admin.user", user_id=user.id))


@bp.route("/settings", methods=["GET", "POST"])
@admin_only
def settings():
    defaults = config.defaults(current_app.config["GATELOG"])
    current = config.effective(current_app.config["GATELOG"])
    # Shown as typed: 30, not 30.0.
    form = SettingsForm(data={f.key: f"{getattr(current, f.key):g}" for f in config.EDITABLE})
    if form.validate_on_submit():
        values = {f.key: float(form[f.key].data) for f in config.EDITABLE}
        config.save(current_user, values, now=utcnow())
        flash(_("Settings saved."), "info")
        return redirect(url_for("admin.settings"))
    return render_template(
        "admin/settings.html", form=form, fields=config.EDITABLE, defaults=defaults
    )


@bp.route("/letterhead", methods=["GET", "POST"])
@admin_only
def letterhead_settings():
    saved = letterhead.current()
    form = LetterheadForm(obj=saved)
    if form.validate_on_submit():
        values = {name: (form[name].data or "").strip() for name in letterhead.FIELDS}
        letterhead.save(current_user, values, now=utcnow())
        flash(_("Letterhead saved: the next documents carry it."), "info")
        return redirect(url_for("admin.letterhead_settings"))
    return render_template("admin/letterhead.html", form=form)
