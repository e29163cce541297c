"""One phone normaliser for every place that reads a phone number."""

import pytest

from server import phones


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("0912345678", "0912345678"),
        ("0912 345 678", "0912345678"),
        ("+84 912.345.678", "0912345678"),
        ("84912345678", "0912345678"),
        ("912345678", "0912345678"),  # a numeric cell dropped the leading zero
        ("01689123456", "0389123456"),  # retired 11-digit Viettel prefix
        ("1689123456", "0389123456"),  # ...and its leading zero dropped too
        ("0123 456 7890", "0834567890"),  # VinaPhone 0123 -> 083
        ("0120-123-4567", "0701234567"),  # MobiFone 0120 -> 070
        ("01881234567", "0581234567"),  # Vietnamobile 0188 -> 058
        ("01991234567", "0591234567"),  # Gmobile 0199 -> 059
        ("(024) 3825 1234", "02438251234"),  # a Hà Nội landline
        ("", None),
    ],
)
def test_numbers_as_people_wrote_them_are_stored_as_dialled_today(
    written: str, stored: str | None
) -> None:
    assert phones.normalise(written) == stored


@pytest.mark.parametrize("written", ["12345", "0243826xxxx", "0123456789", "+1 202 555 0100"])
def test_what_is_not_a_vietnamese_number_is_refused(written: str) -> None:
    with pytest.raises(phones.InvalidPhone):
        phones.normalise(written)


def test_an_old_and_a_new_form_of_one_number_compare_equal() -> None:
    assert phones.key("01689123456") == phones.key("+84 389 123 456") == "0389123456"
