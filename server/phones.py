"""Vietnamese phone numbers: the one normaliser every place that reads a phone uses.

A number is stored as dialled at home ("0912345678"). Rosters hold it as people wrote it over
the years: with +84, without the leading zero a numeric cell dropped, or with an 11-digit
mobile prefix retired in 2018 (0168… is now 038…). phonenumbers knows which numbers exist.
"""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import PhoneNumberType

from server.text import digits

# The Ministry of Information and Communications moved 11-digit mobile numbers to 10 digits in
# September 2018: the old prefix is replaced, the last seven digits stay.
RETIRED_MOBILE_PREFIXES = {
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",
    "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036",
    "0167": "037", "0168": "038", "0169": "039",
    "0186": "056", "0188": "058", "0199": "059",
}  # fmt: skip
_PUNCTUATION = re.compile(r"[\s.\-()/'’_]")
_KEPT_TYPES = (
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
)


class InvalidPhone(ValueError):
    """Not a phone number of Viet Nam."""


def _national_digits(text: str) -> str:
    raw = _PUNCTUATION.sub("", text)
    if raw.startswith("+"):
        raw = raw[1:] if raw[1:3] == "84" else "x"
    if not raw.isdigit():
        raise InvalidPhone(text)
    if raw.startswith("84") and len(raw) in (11, 12):
        return "0" + raw[2:]
    if raw[0] != "0" and len(raw) in (9, 10):
        # A numeric spreadsheet cell drops the leading zero.
        return "0" + raw
    return raw


def normalise(text: str) -> str | None:
    """The number as dialled at home, "0912345678"; None when blank; InvalidPhone otherwise."""
    if not text.strip():
        return None
    number = _national_digits(text)
    if len(number) == 11 and number[:4] in RETIRED_MOBILE_PREFIXES:
        number = RETIRED_MOBILE_PREFIXES[number[:4]] + number[4:]
    try:
        parsed = phonenumbers.parse(number, "VN")
    except phonenumbers.NumberParseException as error:
        raise InvalidPhone(text) from error
    if not phonenumbers.is_valid_number(parsed) or phonenumbers.number_type(parsed) not in (
        _KEPT_TYPES
    ):
        raise InvalidPhone(text)
    return "0" + phonenumbers.national_significant_number(parsed)


def key(text: str) -> str:
    """What to compare or search by: the normalised number, or the digits of a partial one."""
    try:
        return normalise(text) or ""
    except InvalidPhone:
        number = digits(text)
        if text.strip().startswith("+84") or (number.startswith("84") and len(number) >= 11):
            return "0" + number[2:]
        return number
