"""Reading roster spreadsheets as HR offices keep them, and planning what importing one does.

Real files carry a title block above the header, Vietnamese or English column names in any
case or accent, numbers where text was meant (phones without their leading zero) and formulas.
Reading turns every cell into text; planning checks each line against the roster and says what
would happen to it and why, without writing anything.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any, BinaryIO

from openpyxl import load_workbook
from openpyxl.utils import range_boundaries
from openpyxl.utils.exceptions import InvalidFileException
from openpyxl.worksheet._read_only import ReadOnlyWorksheet
from openpyxl.worksheet._reader import WorkSheetParser

from server.hr.roster import normalise
from server.hr.roster.normalise import InvalidValue
from server.models import Worker
from server.text import fold

MAX_ROWS = 20_000
MAX_COLUMNS = 60
# Spreadsheet bombs: a 57 KiB .xlsx can hold 400,000 blank rows or unpack to gigabytes. Every
# row read counts, blank or not, and a file is refused before parsing when its parts would
# unpack to more than this (a 20,000-line roster unpacks to about 20 MB).
MAX_ROWS_READ = 25_000
MAX_INFLATED_BYTES = 64 * 1024 * 1024
# Title blocks ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", the enterprise, the list's name) come first.
HEADER_SEARCH_ROWS = 15
CSV_ENCODINGS = ("utf-8-sig", "utf-16", "cp1258")

# Column names after folding (lower case, no accents, letters and digits only).
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "row_number": ("stt", "so thu tu", "tt", "no", "#", "number"),
    "full_name": (
        "ho va ten",
        "ho ten",
        "ho ten nguoi lao dong",
        "ten nguoi lao dong",
        "ten nhan vien",
        "full name",
        "name",
        "employee name",
    ),
    "employee_code": (
        "ma nhan vien",
        "ma nv",
        "msnv",
        "ma so nhan vien",
        "ma cong nhan",
        "ma",
        "employee code",
        "employee id",
        "staff id",
        "code",
    ),
    "phone": ("so dien thoai", "dien thoai", "sdt", "so dt", "phone", "phone number", "mobile"),
    "national_id": (
        "cccd",
        "so cccd",
        "cmnd",
        "so cmnd",
        "cccd cmnd",
        "cmnd cccd",
        "so cccd cmnd",
        "can cuoc cong dan",
        "so can cuoc",
        "can cuoc",
        "national id",
        "id number",
        "id card",
    ),
    "date_of_birth": (
        "ngay sinh",
        "ngay thang nam sinh",
        "sinh ngay",
        "date of birth",
        "birth date",
        "dob",
    ),
    "sex": ("gioi tinh", "gioi", "nam nu", "nam/nu", "sex", "gender"),
    "home_province": ("tinh", "tinh thanh", "tinh thanh pho", "province", "home province"),
    "permanent_address": (
        "ho khau thuong tru",
        "ho khau",
        "thuong tru",
        "dia chi thuong tru",
        "noi thuong tru",
        "noi dang ky thuong tru",
        "permanent address",
        "permanent residence",
    ),
    "hometown": ("que quan", "nguyen quan", "hometown", "home town"),
    "current_address": (
        "cho o hien nay",
        "cho o hien tai",
        "noi o hien nay",
        "noi o hien tai",
        "dia chi hien nay",
        "dia chi hien tai",
        "dia chi tam tru",
        "tam tru",
        "current address",
        "address",
        "dia chi",
    ),
    "department": (
        "bo phan",
        "phong ban",
        "to bo phan",
        "don vi",
        "xuong",
        "department",
        "dept",
        "team",
    ),
}
# How the template names each column, in Vietnamese and in English (both are recognised).
COLUMN_NAMES: dict[str, tuple[str, str]] = {
    "row_number": ("STT", "No."),
    "employee_code": ("Mã nhân viên", "Employee code"),
    "full_name": ("Họ và tên", "Full name"),
    "date_of_birth": ("Ngày sinh", "Date of birth"),
    "national_id": ("CCCD", "National ID"),
    "sex": ("Giới tính", "Sex"),
    "phone": ("Số điện thoại", "Phone"),
    "department": ("Bộ phận", "Department"),
    "home_province": ("Tỉnh", "Province"),
    # "Hộ khẩu thường trú" is still read, but since 2023 the law says "nơi thường trú".
    "permanent_address": ("Nơi thường trú", "Permanent residence"),
    "hometown": ("Quê quán", "Hometown"),
    "current_address": ("Chỗ ở hiện nay", "Current address"),
}
_NOT_ALNUM = re.compile(r"[^0-9a-z#]")
FIELD_BY_HEADER = {
    _NOT_ALNUM.sub("", alias): name for name, aliases in HEADER_ALIASES.items() for alias in aliases
}
IMPORTED_FIELDS = tuple(name for name in HEADER_ALIASES if name != "row_number")
PROVINCE_SOURCES = ("home_province", "permanent_address", "hometown")
NULLABLE = frozenset({"phone", "national_id", "birth"})
# Warnings that flag a kept value for HR rather than an unreadable cell.
FLAGS = frozenset({"unknown_province", "foreign_address"})
# Worker columns an import may fill; on an existing worker only non-empty cells overwrite.
WORKER_COLUMNS = (
    "full_name",
    "phone",
    "national_id",
    "date_of_birth",
    "birth_year",
    "sex",
    "home_province_code",
    "home_province_raw",
    "permanent_address",
    "current_address",
    "department",
)


class ImportFileError(ValueError):
    """The file as a whole cannot be read; `code` names why for the page."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Layout:
    """Which column holds which field, and what was left aside."""

    header_line: int
    columns: dict[str, str]
    ignored: list[str]


@dataclass(frozen=True)
class ParsedSheet:
    layout: Layout
    rows: list[dict[str, Any]]


@dataclass
class PlannedRow:
    """What importing one line does: create, update, unchanged, refused or skipped."""

    line: int
    action: str
    cells: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)
    # Cells imported empty because they could not be read, and addresses flagged for HR.
    warnings: list[tuple[str, str]] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    worker_id: int | None = None
    duplicate_lines: list[int] = field(default_factory=list)

    @property
    def code(self) -> str:
        return str(self.values.get("employee_code") or self.cells.get("employee_code", ""))


@dataclass(frozen=True)
class Plan:
    rows: list[PlannedRow]

    def count(self, action: str) -> int:
        return sum(1 for row in self.rows if row.action == action)

    @property
    def warned(self) -> int:
        """Lines kept with a cell left empty or an address flagged for HR."""
        return sum(1 for row in self.rows if row.warnings and row.action != "refused")

    @property
    def writes(self) -> list[PlannedRow]:
        return [row for row in self.rows if row.action in ("create", "update")]


def header_key(title: object) -> str:
    return _NOT_ALNUM.sub("", fold(cell_text(title)))


def cell_text(value: object) -> str:
    """A cell as text: numbers without a trailing .0, dates as ISO, formulas as the text typed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time.min else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def read_table(filename: str, stream: BinaryIO) -> list[list[object]]:
    """The first sheet of an .xlsx, or a .csv (comma, semicolon or tab separated), as rows."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        return _read_xlsx(stream)
    if name.endswith(".csv"):
        return _read_csv(stream.read())
    raise ImportFileError("unsupported_type")


def _read_xlsx(stream: BinaryIO) -> list[list[object]]:
    _refuse_bombs(stream)
    try:
        # Not data_only: a formula is kept as the text "=…" it is, never evaluated.
        workbook = load_workbook(stream, read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise ImportFileError("unreadable") from error
    try:
        sheet = workbook.worksheets[0]
        if not isinstance(sheet, ReadOnlyWorksheet):
            raise ImportFileError("unreadable")
        if (sheet.max_row or 0) > MAX_ROWS_READ:  # the size the sheet declares
            raise ImportFileError("too_many_rows_read")
        return _bounded(_rows_with_merges_filled(sheet))
    except (KeyError, ValueError, TypeError, IndexError, zipfile.BadZipFile) as error:
        if isinstance(error, ImportFileError):
            raise
        raise ImportFileError("unreadable") from error
    finally:
        workbook.close()


def _refuse_bombs(stream: BinaryIO) -> None:
    try:
        with zipfile.ZipFile(stream) as archive:
            # The declared sizes bound what zipfile will inflate: a part that unpacks past
            # its declared size fails its read.
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ImportFileError("unreadable") from error
    if inflated > MAX_INFLATED_BYTES:
        raise ImportFileError("too_large_inflated")
    stream.seek(0)


def _rows_with_merges_filled(sheet: ReadOnlyWorksheet) -> list[list[object]]:
    """The sheet's rows (gaps as empty rows), each merged cell's value in every row it covers.

    Read with openpyxl's own sheet parser because its read-only sheets do not expose merged
    cells, which come after the rows in the file.
    """
    workbook = sheet.parent
    rows: list[list[object]] = []
    # The private parts below are what ReadOnlyWorksheet itself hands its parser (openpyxl 3.1).
    with sheet._get_source() as source:  # type: ignore[attr-defined]
        parser = WorkSheetParser(
            source,
            sheet._shared_strings,  # type: ignore[attr-defined]
            data_only=False,
            epoch=workbook.epoch,
            date_formats=workbook._date_formats,  # type: ignore[attr-defined]
            timedelta_formats=workbook._timedelta_formats,  # type: ignore[attr-defined]
        )
        for number, cells in parser.parse():
            if number > MAX_ROWS_READ:
                raise ImportFileError("too_many_rows_read")
            rows.extend([] for _ in range(len(rows), number - 1))
            values: list[object] = [None] * min(
                MAX_COLUMNS, max((c["column"] for c in cells), default=0)
            )
            for cell in cells:
                if cell["column"] <= MAX_COLUMNS:
                    values[cell["column"] - 1] = cell["value"]
            rows.append(values)
        merges = parser.merged_cells.mergeCell if parser.merged_cells else []
    for merge in merges:
        column, first, _last_column, last = range_boundaries(merge.ref)
        if column is None or first is None or last is None:  # whole columns: not a cell's span
            continue
        if column > MAX_COLUMNS or first > len(rows):
            continue
        top = rows[first - 1]
        value = top[column - 1] if column <= len(top) else None
        for row in rows[first : min(last, len(rows))]:
            # Only rows that hold something else: a merge reaching below the list adds no line.
            if any(cell_text(cell).strip() for cell in row):
                row.extend([None] * (column - len(row)))
                row[column - 1] = value
    return rows


def _read_csv(data: bytes) -> list[list[object]]:
    for encoding in CSV_ENCODINGS:
        try:
            content = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if encoding != "utf-16" or data[:2] in (b"\xff\xfe", b"\xfe\xff"):
            break
    else:
        raise ImportFileError("unreadable")
    sample = content[:8192]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    try:
        return _bounded(csv.reader(io.StringIO(content, newline=""), dialect))
    except csv.Error as error:
        raise ImportFileError("unreadable") from error


def _bounded(rows: Iterable[Iterable[object]]) -> list[list[object]]:
    table: list[list[object]] = []
    # Blank lines become lines only once data follows them (spreadsheets format empty rows
    # below their data), but every line read counts towards the limit, blank or not.
    blanks = 0
    for read, row in enumerate(rows, start=1):
        if read > MAX_ROWS_READ:
            raise ImportFileError("too_many_rows_read")
        cells = list(row)[:MAX_COLUMNS]
        if not any(cell_text(cell).strip() for cell in cells):
            blanks += 1
            continue
        if len(table) + blanks >= MAX_ROWS + HEADER_SEARCH_ROWS:
            raise ImportFileError("too_many_rows")
        table.extend([] for _ in range(blanks))
        blanks = 0
        table.append(cells)
    return table


def read_sheet(table: list[list[object]]) -> ParsedSheet:
    """Find the header line and turn each later line into {field: text}."""
    best_line = -1
    best_columns: dict[int, str] = {}
    for index, row in enumerate(table[:HEADER_SEARCH_ROWS]):
        columns = {
            position: FIELD_BY_HEADER[key]
            for position, key in enumerate(header_key(title) for title in row)
            if key in FIELD_BY_HEADER
        }
        if len(set(columns.values())) > len(set(best_columns.values())):
            best_line, best_columns = index, columns
    if "full_name" not in best_columns.values():
        raise ImportFileError("no_header")

    header = table[best_line]
    taken: dict[str, int] = {}
    ignored = []
    for position, title in enumerate(header):
        name = best_columns.get(position)
        if name is None or name in taken or name == "row_number":
            if cell_text(title).strip() and name != "row_number":
                ignored.append(normalise.text(cell_text(title)))
            continue
        taken[name] = position
    layout = Layout(
        header_line=best_line + 1,
        columns={name: normalise.text(cell_text(header[pos])) for name, pos in taken.items()},
        ignored=ignored,
    )
    rows: list[dict[str, Any]] = []
    for offset, row in enumerate(table[best_line + 1 :], start=best_line + 2):
        cells = {
            name: cell_text(row[position]) if position < len(row) else ""
            for name, position in taken.items()
        }
        rows.append({"line": offset, "cells": cells})
    # Lines with text only in columns left aside (a total, a signature) end many lists.
    while rows and not any(value.strip() for value in rows[-1]["cells"].values()):
        rows.pop()
    if not rows:
        raise ImportFileError("no_rows")
    if len(rows) > MAX_ROWS:
        raise ImportFileError("too_many_rows")
    return ParsedSheet(layout=layout, rows=rows)


def plan(rows: Iterable[Mapping[str, Any]], existing: Mapping[str, Worker], *, today: date) -> Plan:
    """What importing `rows` into a roster holding `existing` (by code) would do, line by line."""
    planned = [check_cells(int(row["line"]), dict(row["cells"]), today) for row in rows]
    lines_by_code: dict[str, list[int]] = {}
    for row in planned:
        if row.action == "valid":
            lines_by_code.setdefault(row.values["employee_code"], []).append(row.line)
    repeated = {code for code, lines in lines_by_code.items() if len(lines) > 1}
    for row in planned:
        if row.action != "valid":
            continue
        code = row.values["employee_code"]
        if code in repeated:
            row.action = "refused"
            row.problems.append(("employee_code", "duplicate_code"))
            row.duplicate_lines = [line for line in lines_by_code[code] if line != row.line]
            continue
        worker = existing.get(code)
        if worker is None:
            row.action = "create"
            continue
        row.worker_id = worker.id
        row.changes = [
            name
            for name in WORKER_COLUMNS
            if row.values.get(name) not in (None, "") and getattr(worker, name) != row.values[name]
        ]
        row.action = "update" if row.changes else "unchanged"
    return Plan(rows=planned)


def check_cells(
    line: int, cells: dict[str, str], today: date, *, skip_empty: bool = True
) -> PlannedRow:
    """Only the code and the name are required: any other cell that cannot be read is left
    empty with a warning, so that a worker a person can read is never dropped for it.

    An empty line of a file is skipped; an empty form (`skip_empty=False`) lacks its name and code.
    """
    row = PlannedRow(line=line, action="valid", cells=cells)
    if skip_empty and not any(normalise.text(value) for value in cells.values()):
        row.action = "skipped"
        return row
    for name, check in (
        ("full_name", normalise.full_name),
        ("employee_code", normalise.employee_code),
    ):
        try:
            row.values[name] = check(cells.get(name))
        except InvalidValue as problem:
            row.problems.append((name, problem.code))
    optional: dict[str, Any] = {
        "phone": lambda: normalise.phone(cells.get("phone")),
        "national_id": lambda: normalise.national_id(cells.get("national_id")),
        "birth": lambda: normalise.birth_date(cells.get("date_of_birth"), today=today),
        "sex": lambda: normalise.sex(cells.get("sex")),
        "department": lambda: normalise.bounded(cells.get("department"), normalise.MAX_DEPARTMENT),
        "permanent_address": lambda: normalise.bounded(
            cells.get("permanent_address"), normalise.MAX_ADDRESS
        ),
        "current_address": lambda: normalise.bounded(
            cells.get("current_address"), normalise.MAX_ADDRESS
        ),
    }
    for name, check in optional.items():
        try:
            row.values[name] = check()
        except InvalidValue as problem:
            row.warnings.append(("date_of_birth" if name == "birth" else name, problem.code))
            row.values[name] = None if name in NULLABLE else ""
    birth = row.values.pop("birth") or normalise.BirthDate(None, None)
    row.values["date_of_birth"], row.values["birth_year"] = birth.day, birth.year
    # The home province comes from the first of these cells that holds anything; a text that
    # names no province for certain is kept as written and flagged on that cell for HR.
    source = next((name for name in PROVINCE_SOURCES if normalise.optional(cells.get(name))), None)
    province = normalise.home_province(cells.get(source) if source else None)
    row.values["home_province_code"] = province.code
    row.values["home_province_raw"] = province.raw
    if source and province.foreign:
        row.warnings.append((source, "foreign_address"))
    elif source and province.code is None:
        row.warnings.append((source, "unknown_province"))
    if row.problems:
        row.action = "refused"
    return row
