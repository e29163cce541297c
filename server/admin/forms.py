"""Administrators' forms: zones, enterprises, users and settings."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DecimalField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from server.admin.config import EDITABLE
from server.models import ROLES
from server.passwords import validate_new_password

ROLE_LABELS = {
    "admin": _l("Administrator"),
    "inspector": _l("Board inspector"),
    "hr": _l("Enterprise HR"),
}


class ZoneForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    province_code = SelectField(_l("Province"), coerce=int, validators=[Optional()])


class EnterpriseForm(FlaskForm):
    tax_code = StringField(
        _l("Tax code"),
        validators=[
            DataRequired(),
            Regexp(r"^\d{10}(-\d{3})?$", message=_l("10 digits, or 13 with a branch suffix.")),
        ],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=300)])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=500)])
    zone_id = SelectField(_l("Zone"), coerce=int)


class UserForm(FlaskForm):
    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Length(min=3, max=80),
            Regexp(r"^[A-Za-z0-9._-]+$", message=_l("Letters, digits, dot, dash or underscore.")),
        ],
    )
    full_name = StringField(_l("Full name"), validators=[Optional(), Length(max=200)])
    role = SelectField(_l("Role"), choices=[SelectChoice(r, ROLE_LABELS[r]) for r in ROLES])
    enterprise_id = SelectField(_l("Enterprise (for HR)"), coerce=int)
    zone_ids = SelectMultipleField(_l("Zones (for inspectors)"), coerce=int)
    active = BooleanField(_l("Account active"), default=True)

    def validate_enterprise_id(self, field: SelectField) -> None:
        if self.role.data == "hr" and not field.data:
            raise ValidationError(_l("An HR user belongs to one enterprise."))

    def validate_zone_ids(self, field: SelectMultipleField) -> None:
        if self.role.data == "inspector" and not field.data:
            raise ValidationError(_l("An inspector oversees at least one zone."))


class NewUserForm(UserForm):
    password = PasswordField(_l("Password"), validators=[DataRequired()])

    def validate_password(self, field: PasswordField) -> None:
        validate_new_password(field.data, username=self.username.data or "")


class PasswordForm(FlaskForm):
    """An administrator's reset of `username`'s password."""

    password = PasswordField(_l("New password"), validators=[DataRequired()])

    def __init__(self, *args: object, username: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.username = username

    def validate_password(self, field: PasswordField) -> None:
        validate_new_password(field.data, username=self.username)


class SettingsForm(FlaskForm):
    """One number per editable setting; the fields come from EDITABLE, the single list of them."""


for _spec in EDITABLE:
    setattr(
        SettingsForm,
        _spec.key,
        DecimalField(
            _spec.label,
            places=None,
            validators=[DataRequired(), NumberRange(_spec.minimum, _spec.maximum)],
        ),
    )


class LetterheadForm(FlaskForm):
    """Decree 30/2020's header and signature block of the board's documents."""

    superior_body = StringField(
        _l("Superior body"),
        description=_l("First line of the header, e.g. UBND TỈNH BẮC GIANG"),
        validators=[Length(max=200)],
    )
    body = StringField(
        _l("Issuing body"),
        description=_l("e.g. BAN QUẢN LÝ CÁC KHU CÔNG NGHIỆP"),
        validators=[DataRequired(), Length(max=200)],
    )
    number_suffix = StringField(
        _l("Document number suffix"),
        description=_l("What follows the number, e.g. BQL-LĐ in “Số: …/BQL-LĐ”"),
        validators=[Length(max=60)],
    )
    place = StringField(
        _l("Place of issue"),
        description=_l("e.g. Bắc Giang, in “Bắc Giang, ngày … tháng … năm …”"),
        validators=[DataRequired(), Length(max=100)],
    )
    signer_capacity = StringField(
        _l("Signing on behalf of"),
        description=_l("e.g. KT. TRƯỞNG BAN; leave empty when the head signs"),
        validators=[Length(max=100)],
    )
    signer_title = StringField(
        _l("Signer's title"),
        description=_l("e.g. PHÓ TRƯỞNG BAN"),
        validators=[DataRequired(), Length(max=100)],
    )
    signer_name = StringField(_l("Signer's name"), validators=[DataRequired(), Length(max=100)])
    recipients = TextAreaField(
        _l("Recipients (Nơi nhận)"),
        description=_l("One per line, e.g. “Như trên;” then “Lưu: VT.”"),
        validators=[Length(max=1000)],
    )
