"""Home provinces: the 34 in force since 1 July 2025, read from addresses as people write them.

The labour department counts workers by the province they would go home to. Rosters carry the
63 pre-2025 provinces, older names still (Hà Tây, Hà Bắc), short forms (BG, HCM, BR-VT) and
misspellings (Bắc Cạn, Đắc Lắc). The 2025 reform merged whole provinces, so naming the old
province is enough to know the new one: no ward-level conversion, and no online lookup (the address
converter of vietnamadminunits asks ArcGIS online, a transfer of personal data abroad that
Decree 13/2023 forbids without consent). Only the packages' offline tables are read here.

The rule is never a wrong province: a text that names no province at its end, or names one of
the pre-1997 provinces that the 2025 provinces still split, stays unresolved for HR to read.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from vietnam_provinces import Province

from server.text import fold

PROVINCE_NAMES: dict[int, str] = {int(p.code): p.name for p in Province.iter_all()}
# As a document names it: "Tỉnh Bắc Ninh", "Thành phố Hà Nội".
PROVINCE_FULL_NAMES: dict[int, str] = {
    code: name if name.startswith("Thành phố ") else f"Tỉnh {name}"
    for code, name in PROVINCE_NAMES.items()
}


def _short(name: str) -> str:
    for prefix in ("Thành phố ", "Tỉnh "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


PROVINCE_SHORT_NAMES: dict[int, str] = {code: _short(name) for code, name in PROVINCE_NAMES.items()}

# Provinces of 1976-1997 that went whole into one 2025 province, by the key of that province's
# name in vietnamadminunits' tables.
HISTORIC_NAMES = {
    "Hà Tây": "thanhphohanoi",
    "Hà Bắc": "tinhbacninh",
    "Minh Hải": "tinhcamau",
    "Nam Hà": "tinhninhbinh",
    "Hà Nam Ninh": "tinhninhbinh",
    "Hà Tuyên": "tinhtuyenquang",
    "Hoàng Liên Sơn": "tinhlaocai",
    "Bắc Thái": "tinhthainguyen",
    "Quảng Nam - Đà Nẵng": "thanhphodanang",
    "Cửu Long": "tinhvinhlong",
    "Thừa Thiên Huế": "thanhphohue",
    "TT Huế": "thanhphohue",
    "Sài Gòn": "thanhphohochiminh",
    "Gia Định": "thanhphohochiminh",
}
# Provinces of 1976-1997 whose parts lie in different 2025 provinces: naming one of them says
# nothing certain, and it must not fall through to the province its last words spell
# ("Gia Lai - Kon Tum" is not Kon Tum).
SPLIT_HISTORIC_NAMES = (
    "Vĩnh Phú",
    "Hải Hưng",
    "Nghệ Tĩnh",
    "Bình Trị Thiên",
    "Nghĩa Bình",
    "Phú Khánh",
    "Thuận Hải",
    "Gia Lai - Kon Tum",
    "Sông Bé",
    "Hà Sơn Bình",
    "Cao Lạng",
)
# Short forms written on forms and spreadsheets, accepted only as a whole last part of the text
# ("Kiến Xương, TB"): two letters inside an address mean too many things. Left out on purpose
# because they name more than one province: ĐN, QN, TN, HG, LC, BD, HT, LA.
SHORT_FORMS = {
    "hn": "thanhphohanoi",
    "hcm": "thanhphohochiminh",
    "tphcm": "thanhphohochiminh",
    "sg": "thanhphohochiminh",
    "bg": "tinhbacgiang",
    "bn": "tinhbacninh",
    "tb": "tinhthaibinh",
    "hp": "thanhphohaiphong",
    "hd": "tinhhaiduong",
    "hy": "tinhhungyen",
    "nd": "tinhnamdinh",
    "nb": "tinhninhbinh",
    "th": "tinhthanhhoa",
    "vp": "tinhvinhphuc",
    "pt": "tinhphutho",
    "ls": "tinhlangson",
    "brvt": "tinhbariavungtau",
    "ct": "thanhphocantho",
    "qb": "tinhquangbinh",
    "qt": "tinhquangtri",
    "tq": "tinhtuyenquang",
    "yb": "tinhyenbai",
    "cb": "tinhcaobang",
    "hb": "tinhhoabinh",
    "kh": "tinhkhanhhoa",
}
FOREIGN_COUNTRIES = (
    "Lào", "Laos", "Campuchia", "Cam Pu Chia", "Cambodia", "Trung Quốc", "China", "Hàn Quốc",
    "Korea", "South Korea", "Nhật Bản", "Japan", "Thái Lan", "Thailand", "Đài Loan", "Taiwan",
    "Myanmar", "Philippines", "Malaysia", "Singapore", "Indonesia", "Hoa Kỳ", "USA", "Mỹ",
    "Úc", "Australia", "Pháp", "France", "Đức", "Germany", "Nga", "Russia", "Ấn Độ", "India",
    "Hồng Kông", "Hong Kong",
)  # fmt: skip
# A province name right after one of these words, in the same part of the address, is the name
# of a smaller place ("Phường Thái Bình", "Huyện Quảng Ninh", "phố Huế"), not the province. With
# diacritics they are told apart from the syllables of names ("Đan Phượng", "Điền Xá", "Nho
# Quan"); without them only at the start of a part.
_SMALLER_PLACE_WORDS = frozenset(
    [
        "xã",
        "phường",
        "huyện",
        "quận",
        "thôn",
        "ấp",
        "đường",
        "phố",
        "xóm",
        "ngõ",
        "hẻm",
        "trấn",
        "p",
        "q",
        "h",
        "x",
        "tt",
        "tx",
    ]
)
_SMALLER_PLACE_WORDS_UNMARKED = frozenset(fold(word) for word in _SMALLER_PLACE_WORDS)
_PROVINCE_WORDS = (("thanh", "pho"), ("tp",), ("tinh",), ("t",), ("thu", "do"))
_TRAILING_NOISE = (("cu",), ("moi",), ("vn",), ("vietnam",), ("viet", "nam"))
_DISTRICT_PREFIXES = {
    "huyen": "huyen",
    "h": "huyen",
    "quan": "quan",
    "q": "quan",
    "thi xa": "thixa",
    "tx": "thixa",
    "thanh pho": "thanhpho",
    "tp": "thanhpho",
}
_WORD = re.compile(r"[^\W_]+")
_SEPARATOR = re.compile(r"[,;/()\[\]\-–—]")
_BR_VT = re.compile(r"\bbr\s*[-/.]?\s*vt\b", re.IGNORECASE)
_LONGEST_NAME_WORDS = 6


@dataclass(frozen=True)
class _Word:
    plain: str  # folded: no diacritics, lower case
    written: str  # lower case, as written
    part: int  # which comma- or dash-separated part of the text it is in


def _sound(squeezed: str) -> str:
    # "Bắc Cạn" for Bắc Kạn, "Đắc Lắc" for Đắk Lắk, "Kontum": c and k sound alike before a
    # vowel, and no two provinces differ only there (a test checks the keys stay distinct).
    return re.sub(r"k(?!h)", "c", squeezed)


def _key(text: str) -> str:
    return _sound("".join(w.plain for w in _words(text)))


@dataclass(frozen=True)
class Resolution:
    """What a written address says about a home province."""

    code: int | None  # the 2025 province; None when the text does not name one for certain
    former: str = ""  # the province as the text names it ("Hà Tây", "Bắc Giang"), if any
    foreign: bool = False  # the text names another country: kept as written, flagged for HR


@dataclass(frozen=True)
class _Tables:
    provinces: dict[str, tuple[int | None, str]]  # name key -> (2025 code or None, name)
    short_forms: dict[str, tuple[int, str]]
    districts: dict[str, tuple[int, str]]  # "huyenyendung" -> (2025 code, old province)
    foreign: frozenset[str]


def _package_table(name: str) -> dict:  # type: ignore[type-arg]
    text = resources.files("vietnamadminunits").joinpath("data", name).read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    legacy = _package_table("parser_legacy.json")
    current = _package_table("parser_from_2025.json")["DICT_PROVINCE"]
    merged_into = _package_table("converter_2025.json")["DICT_PROVINCE"]
    new_code_of_old = {
        old: int(current[new]["provinceCode"]) for new, olds in merged_into.items() for old in olds
    }
    old_names = {key: unit["provinceShort"] for key, unit in legacy["DICT_PROVINCE"].items()}
    provinces: dict[str, tuple[int | None, str]] = {}

    def add(key: str, value: tuple[int | None, str]) -> None:
        if provinces.get(key, value) != value:
            raise ValueError(f"two provinces share the name key {key!r}")
        provinces[key] = value

    for old, unit in legacy["DICT_PROVINCE"].items():
        for keyword in unit["provinceKeywords"]:
            if keyword not in SHORT_FORMS:
                add(_sound(keyword), (new_code_of_old[old], old_names[old]))
    for name, old in HISTORIC_NAMES.items():
        add(_key(name), (new_code_of_old[old], name))
    for name in SPLIT_HISTORIC_NAMES:
        add(_key(name), (None, name))
    short_forms = {
        form: (new_code_of_old[old], old_names[old]) for form, old in SHORT_FORMS.items()
    }
    districts = {}
    for unit in legacy["DICT_UNIQUE_DISTRICT_PROVINCE"].values():
        old = unit["provinceKey"]
        for keyword in unit["districtKeywords"]:
            if keyword.startswith(tuple(_DISTRICT_PREFIXES.values())):
                districts[_sound(keyword)] = (new_code_of_old[old], old_names[old])
    foreign = frozenset(_key(country) for country in FOREIGN_COUNTRIES)
    return _Tables(provinces, short_forms, districts, foreign)


def _words(text: str) -> list[_Word]:
    """The words of the text, with what follows an address's last part taken off."""
    text = _BR_VT.sub("brvt", text).lower()
    words, part, position = [], 0, 0
    for match in _WORD.finditer(text):
        part += bool(_SEPARATOR.search(text, position, match.start()))
        position = match.end()
        plain = "".join(ch for ch in fold(match.group()) if ch.isascii() and ch.isalnum())
        if plain:
            words.append(_Word(plain, match.group(), part))
    trimmed = True
    while trimmed:
        trimmed = False
        for noise in _TRAILING_NOISE:
            if len(words) > len(noise) and tuple(w.plain for w in words[-len(noise) :]) == noise:
                del words[-len(noise) :]
                trimmed = True
        if len(words) > 1 and words[-1].plain.isdigit() and len(words[-1].plain) >= 5:  # postcode
            words.pop()
            trimmed = True
    return words


def _names_a_smaller_place(before: list[_Word], name_part: int) -> bool:
    same_part = [w for w in before if w.part == name_part]
    if not same_part:
        return False
    plains = tuple(w.plain for w in same_part)
    if any(plains[-len(prefix) :] == prefix for prefix in _PROVINCE_WORDS):
        return False
    last = same_part[-1]
    if last.written != last.plain:
        return last.written in _SMALLER_PLACE_WORDS
    return len(same_part) == 1 and last.plain in _SMALLER_PLACE_WORDS_UNMARKED


def _province_at_end(words: list[_Word], tables: _Tables) -> tuple[int | None, str] | None:
    for size in range(min(len(words), _LONGEST_NAME_WORDS), 0, -1):
        found = tables.provinces.get(_sound("".join(w.plain for w in words[-size:])))
        if found is not None:
            name_part = words[-size].part
            return None if _names_a_smaller_place(words[:-size], name_part) else found
    return None


def _last_part(words: list[_Word]) -> list[str]:
    return [w.plain for w in words if w.part == words[-1].part] if words else []


def _short_form(words: list[_Word], tables: _Tables) -> tuple[int, str] | None:
    last = _last_part(words)
    for prefix in _PROVINCE_WORDS:
        if tuple(last[: len(prefix)]) == prefix and len(last) > len(prefix):
            last = last[len(prefix) :]
    return tables.short_forms.get("".join(last))


def _unique_district(words: list[_Word], tables: _Tables) -> tuple[int, str] | None:
    for part in sorted({w.part for w in words}, reverse=True):
        plains = [w.plain for w in words if w.part == part]
        for spoken, typed in _DISTRICT_PREFIXES.items():
            prefix = spoken.split()
            if plains[: len(prefix)] == prefix and len(plains) > len(prefix):
                found = tables.districts.get(_sound(typed + "".join(plains[len(prefix) :])))
                if found is not None:
                    return found
    return None


@lru_cache(maxsize=8192)
def resolve(text: str) -> Resolution:
    """The 2025 province a written address or province name names for certain, if any."""
    words = _words(unicodedata.normalize("NFC", text))
    if not words:
        return Resolution(code=None)
    tables = _tables()
    at_end = _province_at_end(words, tables) or _short_form(words, tables)
    if at_end is not None:
        code, former = at_end
        return Resolution(code=code, former=former)
    if _sound("".join(_last_part(words))) in tables.foreign:
        return Resolution(code=None, foreign=True)
    district = _unique_district(words, tables)
    if district is not None:
        return Resolution(code=district[0], former=district[1])
    return Resolution(code=None)


def province_code_for(text: str) -> int | None:
    """The 2025 province of a province name or address, old or new; None when not certain."""
    return resolve(text).code


def province_name(code: int | None) -> str:
    return PROVINCE_SHORT_NAMES.get(code, "") if code is not None else ""
