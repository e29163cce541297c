"""The forms of the activity pages: filters read from the query string, actions posted."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    HiddenField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from server.hr.activity.services import LAG_CHOICES, LogFilter
from sync.schemas import ID_CARD_FIELDS


def optional_int(value: Any) -> int | None:
    """A select's value as an id, or None for "any"."""
    if value in (None, "", "None"):
        return None
    return int(value)


class QueryForm(FlaskForm):
    """A GET form: bookmarkable, so no CSRF token in the URL."""

    class Meta:
        csrf = False


class LogFilterForm(QueryForm):
    day_from = DateField(_l("From"), validators=[Optional()])
    day_to = DateField(_l("To"), validators=[Optional()])
    gate_id = SelectField(_l("Gate"), coerce=optional_int, validate_choice=True)
    person = StringField(_l("Person (name or code)"), validators=[Optional(), Length(max=100)])
    direction = SelectField(
        _l("Direction"),
        default="",
        choices=[
            SelectChoice("", _l("Any")),
            SelectChoice("in", _l("In")),
            SelectChoice("out", _l("Out")),
        ],
    )
    method = SelectField(
        _l("Method"),
        default="",
        choices=[
            SelectChoice("", _l("Any")),
            SelectChoice("camera", _l("Camera")),
            SelectChoice("scanner", _l("Scanner")),
            SelectChoice("manual", _l("Manual")),
            SelectChoice("self", _l("Self check-in")),
            SelectChoice("paper", _l("Paper log")),
        ],
    )
    device_id = SelectField(_l("Tablet"), coerce=optional_int, validate_choice=True)
    lag = SelectField(
        _l("Sync delay"),
        default="",
        choices=[
            SelectChoice("", _l("Any")),
            SelectChoice("5m", _l("More than 5 minutes")),
            SelectChoice("1h", _l("More than 1 hour")),
            SelectChoice("1d", _l("More than 1 day")),
        ],
    )
    unresolved = BooleanField(_l("Unknown people only"))
    flagged = BooleanField(_l("Flagged only"))
    cursor = HiddenField()

    def validate_day_to(self, field: DateField) -> None:
        if field.data and self.day_from.data and field.data < self.day_from.data:
            raise ValidationError(_l("The end date is before the start date."))

    def set_choices(self, gates: list[Any], devices: list[Any]) -> None:
        any_choice = SelectChoice("", _l("Any"))
        self.gate_id.choices = [any_choice] + [
            SelectChoice(str(gate.id), f"{gate.code} · {gate.name}") for gate in gates
        ]
        self.device_id.choices = [any_choice] + [
            SelectChoice(str(device.id), device.label) for device in devices
        ]

    def words(self) -> dict[str, str]:
        """Directions and methods as this form's selects spell them, for exports."""
        return {
            str(choice.value): str(choice.label)
            for field in (self.direction, self.method)
            for choice in field.choices
            if choice.value
        }

    def to_filter(self) -> LogFilter:
        return LogFilter(
            day_from=self.day_from.data,
            day_to=self.day_to.data,
            gate_id=self.gate_id.data,
            person=(self.person.data or "").strip(),
            direction=self.direction.data or "",
            method=self.method.data or "",
            device_id=self.device_id.data,
            unresolved_only=bool(self.unresolved.data),
            flagged_only=bool(self.flagged.data),
            min_lag_seconds=LAG_CHOICES.get(self.lag.data or ""),
        )


class PresenceForm(QueryForm):
    shift_hours = FloatField(
        _l("Shift length (hours)"), validators=[Optional(), NumberRange(min=1, max=48)]
    )
    day = DateField(_l("Day of the chart"), validators=[Optional()])


class ResolveForm(FlaskForm):
    employee_code = StringField(_l("Employee code"), validators=[DataRequired(), Length(max=40)])


class GateForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[
            DataRequired(),
            Length(max=20),
            Regexp(r"^[A-Za-z0-9_-]+$", message=_l("Letters, digits, - and _ only.")),
        ],
    )
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    active = BooleanField(_l("Open (tablets and posters may record here)"), default=True)


ID_CARD_FIELD_LABELS = {
    "birth_date": _l("Date of birth"),
    "last4": _l("Last 4 digits of the card number"),
    "province": _l("Province of the permanent address"),
}


class IdCardFieldsForm(FlaskForm):
    """What the gates keep of a visitor's chip ID card; none ticked keeps the name only."""

    fields_kept = SelectMultipleField(
        _l("Kept besides the name"),
        choices=[SelectChoice(name, ID_CARD_FIELD_LABELS[name]) for name in ID_CARD_FIELDS],
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token is checked."""
