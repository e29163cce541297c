"""Home provinces: the 34 in force since 1 July 2025, and the mapping from older names.

The labour department counts workers by the province they would go home to. Rosters still carry
the 63 pre-2025 provinces and whole old-style addresses; vietnamadminunits maps those onto the
new provinces and vietnam-provinces is the list of record.
"""

from __future__ import annotations

from functools import lru_cache

from vietnam_provinces import Province
from vietnamadminunits import convert_address, parse_address

PROVINCE_NAMES: dict[int, str] = {int(p.code): p.name for p in Province.iter_all()}


def _short(name: str) -> str:
    for prefix in ("Thành phố ", "Tỉnh "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


PROVINCE_SHORT_NAMES: dict[int, str] = {code: _short(name) for code, name in PROVINCE_NAMES.items()}


@lru_cache(maxsize=4096)
def province_code_for(text: str) -> int | None:
    """The 2025 province of a province name or address, old or new; None when unknown."""
    text = text.strip()
    if not text:
        return None
    # The legacy converter first: parsed as a post-2025 address, an old province name can be
    # mistaken for a ward of the same name elsewhere ("Thái Bình").
    for attempt in (
        lambda: convert_address(text, mode="CONVERT_2025"),
        lambda: parse_address(text, mode="FROM_2025", level=1),
    ):
        try:
            unit = attempt()
        except (ValueError, KeyError, IndexError, AttributeError):
            continue
        code = getattr(unit, "province_code", None)
        if code and int(code) in PROVINCE_NAMES:
            return int(code)
    return None


def province_name(code: int | None) -> str:
    return PROVINCE_SHORT_NAMES.get(code, "") if code is not None else ""
