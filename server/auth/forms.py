from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from server.passwords import validate_new_password


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class ChangePasswordForm(FlaskForm):
    """A signed-in user's change of their own password."""

    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=200)]
    )
    password = PasswordField(_l("New password"), validators=[DataRequired()])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The new passwords differ."))],
    )

    def __init__(self, *args: object, username: str, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.username = username

    def validate_password(self, field: PasswordField) -> None:
        validate_new_password(field.data, username=self.username)


class EmptyForm(FlaskForm):
    """A form with only its CSRF token, for buttons that post."""
