"""Home provinces: the 34 in force since 1 July 2025, and the mapping from older names.

The labour department counts workers by the province they would go home to. Rosters still carry
the 63 pre-2025 provinces and whole old-style addresses; vietnamadminunits maps those onto the
new provinces and vietnam-provinces is the list of record.
"""

from __future__ import annotations

import re
from functools import lru_cache

from vietnam_provinces import Province
from vietnamadminunits import convert_address, parse_address

from server.text import fold

PROVINCE_NAMES: dict[int, str] = {int(p.code): p.name for p in Province.iter_all()}

# Names older than the 63 provinces, and everyday short forms, that the address parser does not
# know. Only names whose parts all went to one 2025 province are listed: "Vĩnh Phú" or "Nghĩa
# Bình" were split between provinces that are still apart, so they stay unknown for HR to fix.
OTHER_NAMES = {
    "ha tay": 1,
    "ha bac": 24,
    "minh hai": 96,
    "sai gon": 79,
    "saigon": 79,
    "hcm": 79,
    "tp hcm": 79,
    "tphcm": 79,
    "tp.hcm": 79,
}
_NOT_LETTERS = re.compile(r"[^a-z0-9]")


def _short(name: str) -> str:
    for prefix in ("Thành phố ", "Tỉnh "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


PROVINCE_SHORT_NAMES: dict[int, str] = {code: _short(name) for code, name in PROVINCE_NAMES.items()}


def _squeezed(text: str) -> str:
    return _NOT_LETTERS.sub("", fold(text))


def _mentions(text: str, province: str | None) -> bool:
    # The parser matches loosely ("Vĩnh Phú" comes back as Nghệ An): a match counts only when
    # the province it found is really named in the text.
    if not province:
        return False
    return _squeezed(province) in _squeezed(text)


def _parsed_code(unit: object) -> int | None:
    code = getattr(unit, "province_code", None)
    return int(code) if code and int(code) in PROVINCE_NAMES else None


@lru_cache(maxsize=4096)
def province_code_for(text: str) -> int | None:
    """The 2025 province of a province name or address, old or new; None when unknown."""
    folded = fold(text)
    if not folded:
        return None
    if folded in OTHER_NAMES:
        return OTHER_NAMES[folded]
    try:
        legacy = parse_address(text, mode="LEGACY", level=1)
        if _mentions(text, getattr(legacy, "short_province", None)):
            return _parsed_code(convert_address(text, mode="CONVERT_2025"))
        current = parse_address(text, mode="FROM_2025", level=1)
        if _mentions(text, getattr(current, "short_province", None)):
            return _parsed_code(current)
    except (ValueError, KeyError, IndexError, AttributeError):
        return None
    return None


def province_name(code: int | None) -> str:
    return PROVINCE_SHORT_NAMES.get(code, "") if code is not None else ""
