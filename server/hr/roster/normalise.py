"""Cleaning one roster value, the same way for the edit form and for an imported file.

Each function takes what a person typed or a spreadsheet held and returns the stored form, or
raises InvalidValue with a code the pages translate.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime

from server.provinces import province_code_for

_SPACES = re.compile(r"\s+")
_PHONE_PUNCTUATION = re.compile(r"[\s.\-()/]")
# Mobile numbers are 0 + 9 digits (03x, 05x, 07x, 08x, 09x); landlines 0 + 2xx area code + 8.
_PHONE = re.compile(r"0[35789]\d{8}|02\d{9}")
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


def text(value: str | None) -> str:
    """NFC (a file may spell "ễ" as e + two combining marks), single spaces, trimmed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value or "")).strip()


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
    """A Vietnamese number as dialled at home: +84 / 84 become 0, spaces and dots go."""
    raw = _PHONE_PUNCTUATION.sub("", text(value))
    if not raw:
        return None
    if raw.startswith("+84"):
        raw = "0" + raw[3:]
    elif raw.startswith("84") and len(raw) in (11, 12):
        raw = "0" + raw[2:]
    elif raw[0] != "0" and len(raw) in (9, 10):
        # Spreadsheets store phone numbers as numbers and drop the leading zero.
        raw = "0" + raw
    if not _PHONE.fullmatch(raw):
        raise InvalidValue("bad_phone")
    return raw


def national_id(value: str | None) -> str | None:
    """A chip ID card number (CCCD, 12 digits) or an old ID card number (CMND, 9 digits)."""
    raw = re.sub(r"[\s.\-]", "", text(value))
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidValue("bad_national_id")
    # CCCD numbers start with a 0 (the province of birth) that a numeric cell drops.
    if len(raw) in (8, 11):
        raw = "0" + raw
    if len(raw) not in (9, 12):
        raise InvalidValue("bad_national_id")
    return raw


def birth_date(value: str | date | None, *, today: date) -> date | None:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        parsed = value
    else:
        raw = text(value)
        if not raw:
            return None
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
    return parsed


def home_province(value: str | None) -> Province:
    """The 2025 province named by a province name or an address, old or new."""
    raw = text(value)
    if not raw:
        return Province(code=None, raw="")
    code = province_code_for(raw)
    if code is None:
        raise InvalidValue("unknown_province")
    return Province(code=code, raw=raw[:MAX_NAME])


def bounded(value: str | None, limit: int) -> str:
    cleaned = text(value)
    if len(cleaned) > limit:
        raise InvalidValue("too_long")
    return cleaned
