"""The pairing page's filter (read from the query string) and its resolve and reopen buttons."""

from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from server.hr.pairing.services import FLAGS, MAX_DAYS

# The week HR looks back on by default: long enough to span a weekend of night shifts.
DEFAULT_DAYS = 7


class PairingFilterForm(FlaskForm):
    """A GET form: bookmarkable, so no CSRF token in the URL."""

    class Meta:
        csrf = False

    day_from = DateField(_l("From"), validators=[Optional()])
    day_to = DateField(_l("To"), validators=[Optional()])
    resolved = BooleanField(_l("Show resolved flags too"))

    def validate_range(self, today: date) -> bool:
        """Validate, fill in the default week ending `today`, and check the range."""
        if not self.validate():
            return False
        self.day_to.data = self.day_to.data or today
        self.day_from.data = self.day_from.data or self.day_to.data - timedelta(
            days=DEFAULT_DAYS - 1
        )
        if self.day_to.data < self.day_from.data:
            self.day_to.errors = [_l("The end date is before the start date.")]
            return False
        if self.day_to.data - self.day_from.data >= timedelta(days=MAX_DAYS):
            self.day_to.errors = [_l("Choose at most %(days)d days.", days=MAX_DAYS)]
            return False
        return True


class FlagForm(FlaskForm):
    """Names one flag of the event in the URL: what reopening needs."""

    flag = HiddenField(validators=[DataRequired(), AnyOf(FLAGS)])


class ResolveFlagForm(FlagForm):
    note = StringField(_l("Note"), validators=[Optional(), Length(max=500)])
