"""The roster's forms: search, a worker, an import upload and its commit, a visitor pass."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from wtforms import (
    DateTimeLocalField,
    HiddenField,
    SelectChoice,
    SelectField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from server.hr.roster import importer, normalise
from server.hr.roster.messages import VALUE_PROBLEMS
from server.hr.roster.normalise import InvalidValue
from server.hr.roster.passes import PassRequest

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_PASS_DAYS = 31
# Browsers fill and expect <input type="datetime-local"> as 2026-01-31T08:30, seconds optional.
LOCAL_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]
TOO_LONG = _l("This is too long.")


class RosterSearchForm(FlaskForm):
    """The list's filters, read from the query string."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    department = StringField(_l("Department"), validators=[Optional(), Length(max=120)])
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("active", _l("Active")),
            SelectChoice("inactive", _l("Deactivated")),
            SelectChoice("all", _l("All")),
        ],
        default="active",
        validators=[Optional()],
    )


class WorkerForm(FlaskForm):
    # Missing names and codes are refused by the same checks as an import, with its messages.
    full_name = StringField(_l("Full name"))
    employee_code = StringField(_l("Employee code"))
    phone = StringField(_l("Phone"))
    national_id = StringField(_l("ID card number (CCCD)"))
    date_of_birth = StringField(
        _l("Date of birth"), description=_l("dd/mm/yyyy, or the year alone when that is all")
    )
    sex = SelectField(
        _l("Sex"),
        choices=[
            SelectChoice("", "—"),
            SelectChoice("F", _l("Female")),
            SelectChoice("M", _l("Male")),
        ],
        validators=[Optional()],
    )
    department = StringField(_l("Department"))
    home_province = StringField(
        _l("Home province"),
        description=_l("A province, old or new, or a whole address; old names are converted."),
    )
    permanent_address = StringField(_l("Permanent residence"))
    current_address = StringField(_l("Current address"))

    def worker_values(self, *, today: date) -> dict[str, Any] | None:
        """The stored form of the fields, cleaned as an import cleans them; None if refused.

        An import keeps a worker whose optional cell it cannot read; here the person typing
        can fix it, so it is refused. An address naming no province is kept, as in an import.
        """
        cells = {name: self[name].data for name in importer.IMPORTED_FIELDS if name in self}
        checked = importer.check_cells(0, cells, today, skip_empty=False)
        refusals = checked.problems + [
            (name, code) for name, code in checked.warnings if code not in importer.FLAGS
        ]
        for name, code in refusals:
            self[name].errors = [*self[name].errors, VALUE_PROBLEMS[code]]
        return None if refusals else checked.values


class ImportForm(FlaskForm):
    file = FileField(
        _l("Roster file (.xlsx or .csv)"),
        validators=[
            FileRequired(_l("Choose a file.")),
            FileAllowed(["csv", "xlsx"], _l("Only .csv and .xlsx files can be imported.")),
            FileSize(MAX_UPLOAD_BYTES, message=_l("The file is larger than 5 MB.")),
        ],
    )


class CommitImportForm(FlaskForm):
    key = HiddenField(validators=[DataRequired(), Length(max=64)])


class LocalDateTimeField(DateTimeLocalField):
    """A datetime-local input, as browsers send it, refused with our own words."""

    def __init__(self, label: object, **kwargs: Any) -> None:
        super().__init__(label, format=LOCAL_INPUT_FORMATS, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError as error:
            raise ValueError(str(_l("Enter a date and a time."))) from error
        if self.data is None:
            raise ValueError(str(_l("Enter a date and a time.")))


class PassForm(FlaskForm):
    full_name = StringField(
        _l("Visitor's full name"),
        validators=[
            DataRequired(_l("Enter the visitor's full name.")),
            Length(max=200, message=TOO_LONG),
        ],
    )
    phone = StringField(_l("Phone"))
    organisation = StringField(_l("Organisation"), validators=[Length(max=200, message=TOO_LONG)])
    purpose = StringField(
        _l("Purpose of the visit"), validators=[Length(max=300, message=TOO_LONG)]
    )
    host = StringField(_l("Person visited"), validators=[Length(max=200, message=TOO_LONG)])
    valid_from = LocalDateTimeField(_l("Valid from"))
    valid_until = LocalDateTimeField(_l("Valid until"))

    def validate_phone(self, field: StringField) -> None:
        try:
            normalise.phone(field.data)
        except InvalidValue as problem:
            raise ValidationError(str(VALUE_PROBLEMS[problem.code])) from problem

    def fill_today(self, *, now: datetime, timezone: str) -> None:
        """Default window: the rest of today, local time."""
        local_now = now.astimezone(ZoneInfo(timezone)).replace(second=0, microsecond=0)
        self.valid_from.data = local_now.replace(tzinfo=None)
        self.valid_until.data = local_now.replace(hour=23, minute=59, tzinfo=None)

    def pass_request(self, *, now: datetime, timezone: str) -> PassRequest | None:
        """The cleaned request with its window in UTC; None (with field errors) if refused."""
        zone = ZoneInfo(timezone)
        valid_from = self.valid_from.data.replace(tzinfo=zone)
        valid_until = self.valid_until.data.replace(tzinfo=zone)
        if valid_until <= valid_from:
            self.valid_until.errors = [_l("The pass must end after it starts.")]
        elif valid_until - valid_from > timedelta(days=MAX_PASS_DAYS):
            self.valid_until.errors = [_l("A pass lasts at most 31 days.")]
        elif valid_until <= now:
            self.valid_until.errors = [_l("This window is already over.")]
        if self.valid_until.errors:
            return None
        return PassRequest(
            full_name=normalise.text(self.full_name.data),
            phone=normalise.phone(self.phone.data),
            organisation=normalise.text(self.organisation.data),
            purpose=normalise.text(self.purpose.data),
            host=normalise.text(self.host.data),
            valid_from=valid_from,
            valid_until=valid_until,
        )
