"""Reading a gate's paper log, typed into a spreadsheet, as lines of text cells.

Paper logs come in two shapes: one line per passage (a time and a direction column), or one
line per visit with an entry time and an exit time; a visit line becomes two passages. Files
are read by the roster importer's reader (first sheet of .xlsx or a .csv, formulas kept as
text, bounded), and columns are recognised by folded names as the roster import does.
"""

from __future__ import annotations

from typing import BinaryIO

from server.hr.roster.importer import (
    HEADER_ALIASES,
    HEADER_SEARCH_ROWS,
    ImportFileError,
    cell_text,
    header_key,
    read_table,
)
from server.hr.roster.normalise import text

MAX_LINES = 5_000

_ALIASES: dict[str, tuple[str, ...]] = {
    "code": HEADER_ALIASES["employee_code"],
    "name": HEADER_ALIASES["full_name"],
    "gate": ("cong", "ma cong", "ten cong", "cong ra vao", "gate", "gate code"),
    "date": ("ngay", "ngay thang", "ngay ghi", "date", "day"),
    "time": ("gio", "thoi gian", "thoi diem", "time"),
    "direction": ("chieu", "vao ra", "vao/ra", "ra vao", "direction", "in out", "in/out"),
    "time_in": ("gio vao", "thoi gian vao", "time in", "in time", "entry time"),
    "time_out": ("gio ra", "thoi gian ra", "time out", "out time", "exit time"),
    "note": ("ghi chu", "note", "notes", "remark"),
}
_FIELD_BY_HEADER = {
    header_key(alias): name for name, aliases in _ALIASES.items() for alias in aliases
}
PASSAGE_FIELDS = ("gate", "code", "name", "direction", "date", "time", "note")


def read_paper_log(filename: str, stream: BinaryIO) -> list[dict[str, object]]:
    """[{"line": 7, "cells": {"code": ..., "direction": "in", "time": ...}}, ...] per passage.

    Raises ImportFileError: unsupported_type, unreadable, no_header, no_rows, too_many_rows.
    """
    table = read_table(filename, stream)
    header_line, columns = _header(table)
    passages: list[dict[str, object]] = []
    for number, row in enumerate(table[header_line + 1 :], start=header_line + 2):
        cells = {
            name: text(cell_text(row[position])) if position < len(row) else ""
            for name, position in columns.items()
        }
        if not any(cells.values()):
            continue
        passages.extend({"line": number, "cells": cells} for cells in _passages(cells))
    if not passages:
        raise ImportFileError("no_rows")
    if len(passages) > MAX_LINES:
        raise ImportFileError("too_many_rows")
    return passages


def _header(table: list[list[object]]) -> tuple[int, dict[str, int]]:
    """The header line (0-based) and the column of each field: the line naming most fields."""
    best_line = -1
    best: dict[str, int] = {}
    for index, row in enumerate(table[:HEADER_SEARCH_ROWS]):
        columns: dict[str, int] = {}
        for position, title in enumerate(row):
            name = _FIELD_BY_HEADER.get(header_key(title))
            if name is not None:
                columns.setdefault(name, position)
        if len(columns) > len(best):
            best_line, best = index, columns
    has_person = "code" in best or "name" in best
    has_time = "time" in best or "time_in" in best or "time_out" in best
    if not (has_person and has_time):
        raise ImportFileError("no_header")
    return best_line, best


def _passages(cells: dict[str, str]) -> list[dict[str, str]]:
    common = {name: cells.get(name, "") for name in ("gate", "code", "name", "date", "note")}
    if "time_in" not in cells and "time_out" not in cells:
        return [{**common, "direction": cells.get("direction", ""), "time": cells.get("time", "")}]
    visit = [
        {**common, "direction": direction, "time": cells[column]}
        for column, direction in (("time_in", "in"), ("time_out", "out"))
        if cells.get(column)
    ]
    # A visit line with neither time is still a line the page must show as refused.
    return visit or [{**common, "direction": "", "time": ""}]
