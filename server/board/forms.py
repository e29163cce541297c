"""The board console's filters: query strings parsed and checked like any other input."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any, overload
from zoneinfo import ZoneInfo

from flask import request
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, DateTimeLocalField, IntegerField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, NumberRange, Optional, ValidationError

from server.board.health import STATUS_ORDER

FORMATS = ("csv", "xlsx")


class QueryForm(FlaskForm):
    """A GET form: read from the query string, no CSRF token (it changes nothing)."""

    class Meta:
        csrf = False

    def __init__(self, **kwargs: object) -> None:
        super().__init__(formdata=request.args, **kwargs)

    def value(self, name: str) -> Any:
        """The field's value when the form is valid, else None (the page shows the errors)."""
        field = self[name]
        return None if field.errors else field.data


class ScopeFilterForm(QueryForm):
    zone_id = IntegerField(_l("Zone"), validators=[Optional(), NumberRange(min=1)])
    enterprise_id = IntegerField(_l("Enterprise"), validators=[Optional(), NumberRange(min=1)])
    format = StringField(validators=[Optional(), AnyOf(FORMATS)])


class HealthFilterForm(ScopeFilterForm):
    status = StringField(_l("Status"), validators=[Optional(), AnyOf(STATUS_ORDER)])
    q = StringField(_l("Search"), validators=[Optional(), Length(max=100)])
    sort = StringField(validators=[Optional(), Length(max=20)])
    dir = StringField(validators=[Optional(), AnyOf(("asc", "desc"))])
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100_000)])


class LabourFilterForm(ScopeFilterForm):
    by = StringField(_l("Columns"), validators=[Optional(), AnyOf(("zone", "enterprise"))])
    province = StringField(validators=[Optional(), Length(max=10)])
    days = IntegerField(
        _l("Days since the last exit"), validators=[Optional(), NumberRange(min=1, max=366)]
    )

    def validate_province(self, field: StringField) -> None:
        if field.data and field.data != "unknown" and not field.data.isdigit():
            raise ValidationError(_l("Not a province."))


class SendListForm(FlaskForm):
    """Record that a province's list goes to that province's department (a POST, with CSRF)."""

    province = IntegerField(validators=[DataRequired(), NumberRange(min=1, max=99)])
    zone_id = IntegerField(validators=[Optional(), NumberRange(min=1)])
    enterprise_id = IntegerField(validators=[Optional(), NumberRange(min=1)])
    recipient = StringField(
        _l("Sent to"),
        description=_l("The department receiving the list, e.g. Sở Nội vụ tỉnh Nghệ An"),
        validators=[DataRequired(), Length(max=200)],
    )


@overload
def local_to_utc(value: datetime, timezone: str) -> datetime: ...
@overload
def local_to_utc(value: None, timezone: str) -> None: ...
def local_to_utc(value: datetime | None, timezone: str) -> datetime | None:
    """A wall-clock time typed in the users' time zone, as a UTC instant."""
    if value is None:
        return None
    return value.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)


class TracingForm(QueryForm):
    start = DateTimeLocalField(
        _l("Start time"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()]
    )
    end = DateTimeLocalField(_l("End time"), format="%Y-%m-%dT%H:%M", validators=[DataRequired()])
    format = StringField(validators=[Optional(), AnyOf(FORMATS)])

    def since_yesterday(self, now: datetime, timezone: str) -> None:
        """Prefill the window most traces start from: yesterday 00:00 until now."""
        local_now = now.astimezone(ZoneInfo(timezone)).replace(tzinfo=None, second=0, microsecond=0)
        self.start.data = datetime.combine(local_now.date() - timedelta(days=1), time.min)
        self.end.data = local_now

    def validate_end(self, field: DateTimeLocalField) -> None:
        if self.start.data and field.data and field.data <= self.start.data:
            raise ValidationError(_l("The end must come after the start."))
        if self.start.data and field.data and (field.data - self.start.data).days > 31:
            raise ValidationError(_l("Trace at most 31 days at a time."))


class PersonSearchForm(QueryForm):
    q = StringField(_l("Name, employee code or phone"), validators=[Optional(), Length(max=100)])


class AuditFilterForm(QueryForm):
    username = StringField(_l("User"), validators=[Optional(), Length(max=80)])
    action = StringField(_l("Action"), validators=[Optional(), Length(max=60)])
    enterprise_id = IntegerField(_l("Enterprise"), validators=[Optional(), NumberRange(min=1)])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("Until"), validators=[Optional()])
    page = IntegerField(validators=[Optional(), NumberRange(min=1, max=100_000)])
    format = StringField(validators=[Optional(), AnyOf(FORMATS)])
