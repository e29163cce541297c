"""The password policy, one for every place a person sets a password (OWASP ASVS V2.1).

Length over composition: at least 12 characters, long passphrases welcome, no "one digit, one
capital" rules (they push people to `Password1!`). A password must not be guessable: zxcvbn, which
ships its dictionaries of leaked and common passwords and works offline, must rate it at least
"safely unguessable" (score 3), and it must not contain the username.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError
from zxcvbn import zxcvbn

MIN_LENGTH = 12
MAX_LENGTH = 200
MIN_SCORE = 3
# zxcvbn refuses longer input (its matching grows quickly with length); the prefix of a longer
# passphrase is what it rates.
_SCORED_PREFIX = 72
# Words of this product and of Vietnamese that zxcvbn's English lists do not know.
_CONTEXT_WORDS = (
    "gatelog",
    "gate log",
    "nhatkycong",
    "nhật ký cổng",
    "matkhau",
    "mật khẩu",
    "quantri",
    "nhansu",
    "baove",
    "congty",
    "vietnam",
)

MESSAGES = {
    "too_short": _l("The password must have at least %(count)s characters.", count=MIN_LENGTH),
    "too_long": _l("The password must have at most %(count)s characters.", count=MAX_LENGTH),
    "contains_username": _l("The password must not contain the username."),
    "guessable": _l(
        "This password is too common or too easy to guess. "
        "Use a few unrelated words or a longer sentence."
    ),
}


def password_problem(password: str, *, username: str) -> str | None:
    """Why `password` may not be set for `username` (a key of MESSAGES), or None when it may."""
    if len(password) < MIN_LENGTH:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    name = username.strip().casefold()
    if name and name in password.casefold():
        return "contains_username"
    inputs = [name, *_CONTEXT_WORDS] if name else list(_CONTEXT_WORDS)
    if zxcvbn(password[:_SCORED_PREFIX], user_inputs=inputs)["score"] < MIN_SCORE:
        return "guessable"
    return None


def validate_new_password(password: str, *, username: str) -> None:
    """A form's check of a new password: raises ValidationError saying what to change."""
    problem = password_problem(password, username=username)
    if problem is not None:
        raise ValidationError(MESSAGES[problem])
