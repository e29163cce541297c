"""What the roster pages say for each refusal code the roster modules raise."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

FIELD_LABELS = {
    "full_name": _l("Full name"),
    "employee_code": _l("Employee code"),
    "phone": _l("Phone"),
    "national_id": _l("ID card number"),
    "date_of_birth": _l("Date of birth"),
    "home_province": _l("Home province"),
    "home_province_code": _l("Home province"),
    "home_province_raw": _l("Home province as written"),
    "permanent_address": _l("Permanent residence"),
    "sex": _l("Sex"),
    "hometown": _l("Hometown"),
    "current_address": _l("Current address"),
    "department": _l("Department"),
}

VALUE_PROBLEMS = {
    "missing_name": _l("the full name is missing"),
    "missing_code": _l("the employee code is missing"),
    "bad_code": _l("an employee code holds only letters, digits and . _ / -"),
    "bad_phone": _l("not a Vietnamese phone number"),
    "bad_national_id": _l("an ID card number has 12 digits (CCCD) or 9 (CMND)"),
    "bad_birth_date": _l("not a date of birth (write dd/mm/yyyy, or the year alone)"),
    "unknown_province": _l(
        "no province of Viet Nam recognised for certain: kept as written, for HR to check"
    ),
    "foreign_address": _l("an address abroad: kept as written, with no province"),
    "bad_sex": _l("write Nam or Nữ (Male or Female)"),
    "too_long": _l("too long"),
    "duplicate_code": _l("this employee code is on more than one line of the file"),
}

# Refusals of the spreadsheet reader itself, shared by every page that reads a spreadsheet.
READER_PROBLEMS = {
    "too_many_rows_read": _l(
        "The sheet has more than 25,000 rows, empty ones included. Delete the empty rows under "
        "the list, or split it into smaller files."
    ),
    "too_large_inflated": _l(
        "The file unpacks to more than 64 MB: it holds much more than a list of people. Copy "
        "only the list into a new file and import that."
    ),
}

FILE_PROBLEMS = {
    "unsupported_type": _l(
        "Only .csv and .xlsx files can be imported; save an .xls file as .xlsx."
    ),
    "unreadable": _l("The file could not be read as a spreadsheet. Is it a real .csv or .xlsx?"),
    "no_header": _l(
        "No header row found: one of the first 15 rows must name the columns, "
        "including the full name."
    ),
    "no_rows": _l("The file has a header row but no people under it."),
    "too_many_rows": _l("The file has more than 20,000 rows; split it into smaller files."),
    **READER_PROBLEMS,
}

ROSTER_PROBLEMS = {
    "duplicate_code": _l("Another worker already has this employee code."),
    "import_expired": _l("This dry run has expired or is not yours. Upload the file again."),
    "import_done": _l("This file has already been imported."),
    "roster_changed": _l(
        "The roster changed while importing (another worker took one of these codes). "
        "Nothing was imported; upload the file again."
    ),
}

ACTIONS = {
    "create": _l("New"),
    "update": _l("Update"),
    "unchanged": _l("Unchanged"),
    "refused": _l("Refused"),
    "skipped": _l("Empty line"),
}
