"""What the backfill pages say for each refusal and each outcome."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from server.hr.roster.messages import READER_PROBLEMS

FROM_FILE_CHOICE = _l("The gate column of the file")

LINE_PROBLEMS = {
    "missing_gate": _l("no gate: choose one, or add a gate column"),
    "unknown_gate": _l("no gate of your enterprise has this code or name"),
    "unknown_code": _l("no worker of the roster has this employee code"),
    "missing_person": _l("neither an employee code nor a name"),
    "too_long": _l("the name is too long"),
    "bad_direction": _l("the direction must be in (vào) or out (ra)"),
    "bad_time": _l("no date and time could be read (write dd/mm/yyyy and hh:mm)"),
    "future_time": _l("the time is in the future"),
    "too_old": _l("the time is more than 366 days ago"),
}

FILE_PROBLEMS = {
    "unsupported_type": _l(
        "Only .csv and .xlsx files can be imported; save an .xls file as .xlsx."
    ),
    "unreadable": _l("The file could not be read as a spreadsheet. Is it a real .csv or .xlsx?"),
    "no_header": _l(
        "No header row found: one of the first 15 rows must name the columns, with an employee "
        "code or a name column and a time column (or entry and exit time columns)."
    ),
    "no_rows": _l("The file has a header row but no lines under it."),
    "too_many_rows": _l("The file has more than 5,000 passages; split it into smaller files."),
    **READER_PROBLEMS,
}

METHODS = {
    "camera": _l("tablet camera"),
    "scanner": _l("tablet scanner"),
    "manual": _l("tablet, typed by the guard"),
    "self": _l("self check-in"),
    "paper": _l("paper log"),
}
