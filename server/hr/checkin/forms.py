"""The forms of HR's self check-in pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from server.models import Gate


class PosterForm(FlaskForm):
    gate_id = SelectField(_l("Gate"), coerce=int, validate_choice=True)
    label = StringField(_l("Where it is posted"), validators=[DataRequired(), Length(max=80)])

    def set_gates(self, gates: list[Gate]) -> None:
        self.gate_id.choices = [
            SelectChoice(gate.id, f"{gate.code} · {gate.name}") for gate in gates
        ]


class QuestionForm(FlaskForm):
    text_vi = StringField(
        _l("Question in Vietnamese"), validators=[DataRequired(), Length(max=300)]
    )
    text_en = StringField(_l("Question in English"), validators=[Optional(), Length(max=300)])
    kind = SelectField(
        _l("Answer"),
        choices=[SelectChoice("yes_no", _l("Yes / no")), SelectChoice("text", _l("Short text"))],
    )
    alert_on = SelectField(
        _l("Alert HR when the answer is"),
        choices=[
            SelectChoice("", _l("Never")),
            SelectChoice("yes", _l("Yes")),
            SelectChoice("no", _l("No")),
            SelectChoice("any", _l("Any text (short-text questions)")),
        ],
    )
    position = IntegerField(
        _l("Order"), default=0, validators=[Optional(), NumberRange(min=0, max=999)]
    )

    def validate_alert_on(self, field: SelectField) -> None:
        if self.kind.data == "yes_no" and field.data == "any":
            raise ValidationError(_l("A yes/no question alerts on yes or on no."))
        if self.kind.data == "text" and field.data in ("yes", "no"):
            raise ValidationError(_l("A short-text question alerts on any answer or never."))


class SelfLogFilterForm(FlaskForm):
    """A GET filter: bookmarkable, so no CSRF token in the URL."""

    class Meta:
        csrf = False

    alerts = SelectField(
        _l("Show"),
        choices=[
            SelectChoice("", _l("All self check-ins")),
            SelectChoice("1", _l("Only declaration alerts")),
        ],
    )
