"""Home provinces as rosters write them, mapped to the 34 provinces of 2025."""

import pytest

from server.provinces import PROVINCE_NAMES, province_code_for, province_name


def test_there_are_34_provinces() -> None:
    assert len(PROVINCE_NAMES) == 34


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Bắc Giang", "Bắc Ninh"),
        ("Thái Bình", "Hưng Yên"),
        ("tinh thai binh", "Hưng Yên"),
        ("Hà Giang", "Tuyên Quang"),
        ("Đắk Nông", "Lâm Đồng"),
        ("Thừa Thiên Huế", "Huế"),
        ("Bà Rịa - Vũng Tàu", "Hồ Chí Minh"),
        ("Xã Tân Yên, Huyện Tân Yên, Tỉnh Bắc Giang", "Bắc Ninh"),
        ("Phường Bến Nghé, Quận 1, TP Hồ Chí Minh", "Hồ Chí Minh"),
        ("TP HCM", "Hồ Chí Minh"),
        ("Ha Noi", "Hà Nội"),
        ("Hà Tây", "Hà Nội"),
        ("Hà Bắc", "Bắc Ninh"),
        ("Tuyên Quang", "Tuyên Quang"),
        ("Quảng Ninh", "Quảng Ninh"),
    ],
)
def test_old_and_new_names_map_to_a_2025_province(text: str, expected: str) -> None:
    assert province_name(province_code_for(text)) == expected


@pytest.mark.parametrize("text", ["", "   ", "abc xyz", "Nguyễn Văn A", "Vĩnh Phú", "Nghĩa Bình"])
def test_unknown_or_split_names_stay_unknown(text: str) -> None:
    assert province_code_for(text) is None
