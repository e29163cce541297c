"""The backfill forms: one passage typed in, a paper-log file, and the commit of a dry run."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from wtforms import DateField, HiddenField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from server.hr.backfill.paper import MAX_LINES
from server.hr.backfill.services import (
    DEFAULT_TOLERANCE_MINUTES,
    MAX_TOLERANCE_MINUTES,
    Options,
)
from server.hr.roster.forms import MAX_UPLOAD_BYTES, LocalDateTimeField

FROM_FILE = 0
_TOLERANCE = [
    NumberRange(0, MAX_TOLERANCE_MINUTES, _l("Between 0 and 240 minutes.")),
]


def _tolerance_field() -> IntegerField:
    return IntegerField(
        _l("Same passage if within (minutes)"),
        default=DEFAULT_TOLERANCE_MINUTES,
        validators=[InputRequired(_l("Enter a number of minutes.")), *_TOLERANCE],
        description=_l(
            "A line is skipped when the tablets already recorded the same person, "
            "the same way, this close in time."
        ),
    )


class _Backfill(FlaskForm):
    tolerance = _tolerance_field()

    def options(self, gate_id: int | None = None, day: Any = None) -> Options:
        return Options(tolerance=timedelta(minutes=self.tolerance.data), gate_id=gate_id, day=day)


class EntryForm(_Backfill):
    gate_id = SelectField(_l("Gate"), coerce=int)
    person = StringField(
        _l("Employee code or full name"),
        validators=[DataRequired(_l("Enter an employee code or a name.")), Length(max=200)],
    )
    direction = SelectField(
        _l("Direction"), choices=[SelectChoice("in", _l("In")), SelectChoice("out", _l("Out"))]
    )
    at = LocalDateTimeField(_l("Date and time (Viet Nam time)"))

    def rows(self) -> list[dict[str, Any]]:
        cells = {
            "person": self.person.data,
            "direction": self.direction.data,
            "date": self.at.data.date().isoformat(),
            "time": self.at.data.strftime("%H:%M"),
        }
        return [{"line": 1, "cells": cells}]


class PaperFileForm(_Backfill):
    file = FileField(
        _l("Paper log typed into a spreadsheet (.xlsx or .csv)"),
        validators=[
            FileRequired(_l("Choose a file.")),
            FileAllowed(["csv", "xlsx"], _l("Only .csv and .xlsx files can be imported.")),
            FileSize(MAX_UPLOAD_BYTES, message=_l("The file is larger than 5 MB.")),
        ],
    )
    gate_id = SelectField(_l("Gate"), coerce=int)
    day = DateField(
        _l("Day of the log"),
        validators=[Optional()],
        description=_l("For files without a date column."),
    )


class CommitForm(_Backfill):
    """The dry run's lines, sent back to be planned again and stored."""

    tolerance = IntegerField(validators=[InputRequired(), *_TOLERANCE])
    gate_id = IntegerField(validators=[Optional()])
    day = DateField(validators=[Optional()])
    source = HiddenField(validators=[Length(max=200)])
    lines = HiddenField(validators=[DataRequired()])

    def validate_lines(self, field: HiddenField) -> None:
        try:
            rows = json.loads(field.data)
        except ValueError as error:
            raise ValidationError(str(_l("The dry run could not be read."))) from error
        valid = (
            isinstance(rows, list)
            and 0 < len(rows) <= MAX_LINES
            and all(isinstance(r, dict) and isinstance(r.get("line"), int) for r in rows)
        )
        if not valid:
            raise ValidationError(str(_l("The dry run could not be read.")))
        self.rows = rows
