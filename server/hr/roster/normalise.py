"""Cleaning one roster value, the same way for the edit form and for an imported file.

Each function takes what a person typed or a spreadsheet held and returns the stored form, or
raises InvalidValue with a code the pages translate.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from server import phones
from server.provinces import resolve
from server.text import fold

_SPACES = re.compile(r"\s+")
# What people write in a cell they have nothing for.
NOTHING_WRITTEN = frozenset(
    fold(word)
    for word in ("chưa có", "không có", "không", "chưa", "ko có", "k có", "n/a", "-", "--", "none",
                 "null")
)  # fmt: skip
_YEAR = re.compile(r"(19|20)\d\d")
_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._/\-]*")
DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d")
OLDEST_BIRTH_YEAR = 1900
MAX_NAME = 200
MAX_CODE = 40
MAX_ADDRESS = 500
MAX_DEPARTMENT = 120


class InvalidValue(ValueError):
    """A value that cannot be stored; `code` names the reason for the pages."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Province:
    code: int | None
    raw: str
    foreign: bool = False


@dataclass(frozen=True)
class BirthDate:
    """A full date of birth, or only the year when that is all the cell says."""

    day: date | None
    year: int | None


def text(value: str | None) -> str:
    """NFC (a file may spell "ễ" as e + two combining marks), single spaces, trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value or "")).strip()


def optional(value: str | None) -> str:
    """The cell's text, or "" when it says there is nothing ("chưa có", "không có", "-")."""
    cleaned = text(value)
    return "" if fold(cleaned) in NOTHING_WRITTEN else cleaned


def full_name(value: str | None) -> str:
    name = text(value)
    if not name:
        raise InvalidValue("missing_name")
    if len(name) > MAX_NAME:
        raise InvalidValue("too_long")
    return name


def employee_code(value: str | None) -> str:
    code = text(value).upper()
    if not code:
        raise InvalidValue("missing_code")
    if len(code) > MAX_CODE or not _CODE.fullmatch(code):
        raise InvalidValue("bad_code")
    return code


def phone(value: str | None) -> str | None:
    """A Vietnamese number as dialled at home (see server.phones)."""
    try:
        return phones.normalise(optional(value))
    except phones.InvalidPhone as error:
        raise InvalidValue("bad_phone") from error


def national_id(value: str | None) -> str | None:
    """A chip ID card number (CCCD, 12 digits) or an old ID card number (CMND, 9 digits)."""
    raw = re.sub(r"[\s.\-'’]", "", optional(value))
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidValue("bad_national_id")
    # A CCCD starts with the code of the province of birth, 001 to 096: a numeric cell drops
    # one or two leading zeros. A CMND of Hà Nội or Hồ Chí Minh City starts with 0 too.
    if len(raw) in (10, 11):
        raw = raw.zfill(12)
    elif len(raw) == 8:
        raw = raw.zfill(9)
    if len(raw) not in (9, 12):
        raise InvalidValue("bad_national_id")
    return raw


def birth_date(value: str | date | None, *, today: date) -> BirthDate:
    """A date of birth, or a year alone ("1990"); empty when the cell says nothing."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        parsed = value
    else:
        raw = optional(value)
        if not raw:
            return BirthDate(None, None)
        if _YEAR.fullmatch(raw):
            year = int(raw)
            if year > today.year:
                raise InvalidValue("bad_birth_date")
            return BirthDate(None, year)
        # Spreadsheet dates read as text arrive as "1990-05-17 00:00:00".
        raw = raw.removesuffix(" 00:00:00")
        for fmt in DATE_FORMATS:
            try:
                parsed = datetime.strptime(raw, fmt).date()
                break
            except ValueError:
                continue
        else:
            raise InvalidValue("bad_birth_date")
    if parsed.year < OLDEST_BIRTH_YEAR or parsed > today:
        raise InvalidValue("bad_birth_date")
    return BirthDate(parsed, parsed.year)


SEXES = {"nam": "M", "male": "M", "m": "M", "nu": "F", "female": "F", "f": "F"}


def sex(value: str | None) -> str:
    """ "M", "F" or "" (not written)."""
    raw = fold(optional(value))
    if not raw:
        return ""
    if raw not in SEXES:
        raise InvalidValue("bad_sex")
    return SEXES[raw]


def home_province(value: str | None) -> Province:
    """The 2025 province named by a province name or an address, old or new.

    A text that names no province for certain is kept as written, with no province, for HR to
    read: never guessed.
    """
    raw = optional(value)
    resolution = resolve(raw)
    return Province(code=resolution.code, raw=raw[:MAX_NAME], foreign=resolution.foreign)


def bounded(value: str | None, limit: int) -> str:
    cleaned = optional(value)
    if len(cleaned) > limit:
        raise InvalidValue("too_long")
    return cleaned
