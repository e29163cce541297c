"""Spreadsheet downloads shared by the consoles: streamed CSV and XLSX, safe to open in Excel.

A cell that starts with = + - @ (or a tab or carriage return, which Excel strips before looking)
is read as a formula by spreadsheet programs; names and notes typed at a gate or imported from
a file are untrusted, so every such text cell is neutralised: in CSV with a leading apostrophe
(the OWASP advice), in XLSX by typing the cell as text with Excel's quote prefix, which shows the
value unchanged and keeps it text even when edited.

Aware datetimes are written in the deployment's time zone, as users read them everywhere else.

Rows are read while the response streams, after the view has returned and its database session
is gone: pass a generator that runs its query when first iterated, never a query result opened
in the view.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote
from zoneinfo import ZoneInfo

from flask import Response, current_app, stream_with_context
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from unidecode import unidecode
from werkzeug.utils import secure_filename

from server.clock import in_zone

if TYPE_CHECKING:
    from openpyxl.cell.cell import Cell
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

CellValue = str | int | float | date | datetime | None
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
PDF_MIMETYPE = "application/pdf"
CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Excel detects UTF-8 in a CSV only by this byte-order mark; without it Vietnamese is mojibake.
UTF8_BOM = "\ufeff"
XLSX_CHUNK_BYTES = 64 * 1024
CSV_CHUNK_CHARS = 16 * 1024
SHEET_TITLE_MAX = 31
_SHEET_TITLE_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", " "))
DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm:ss"


@dataclass(frozen=True)
class Sheet:
    """One worksheet of an XLSX download; `rows` is consumed once, lazily."""

    title: str
    header: Sequence[object]
    rows: Iterable[Sequence[CellValue]]


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_TRIGGERS)


def neutralise(text: str) -> str:
    """The CSV form of an untrusted text: an apostrophe before a would-be formula."""
    return "'" + text if is_formula_like(text) else text


def _local_naive(value: datetime, zone: ZoneInfo) -> datetime:
    return in_zone(value, zone).replace(tzinfo=None) if value.tzinfo else value


def _csv_cell(value: object, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return _local_naive(value, zone).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool | int | float):
        return str(value)
    return neutralise(str(value))


def _csv_chunks(
    header: Sequence[object], rows: Iterable[Sequence[object]], zone: ZoneInfo
) -> Iterator[str]:
    buffer = io.StringIO()
    buffer.write(UTF8_BOM)
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([neutralise(str(title)) for title in header])
    for row in rows:
        writer.writerow([_csv_cell(value, zone) for value in row])
        if buffer.tell() >= CSV_CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _xlsx_cell(sheet: WriteOnlyWorksheet, value: object, zone: ZoneInfo) -> Cell:
    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, _local_naive(value, zone))
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        # types-openpyxl leaves date out of WriteOnlyCell's values; the Cell it builds takes one.
        cell = WriteOnlyCell(sheet, value)  # type: ignore[arg-type]
        cell.number_format = DATE_FORMAT
        return cell
    if value is None or isinstance(value, bool | int | float):
        return WriteOnlyCell(sheet, value)
    # XML cannot carry most control characters; openpyxl would refuse the whole file for one.
    text = ILLEGAL_CHARACTERS_RE.sub("", str(value))
    cell = WriteOnlyCell(sheet, text)
    if cell.data_type == "f" or is_formula_like(text):
        cell.data_type = "s"
        cell.quotePrefix = True
    return cell


def sheet_title(title: str) -> str:
    """A title Excel accepts: at most 31 characters, none of []:*?/\\."""
    cleaned = " ".join(str(title).translate(_SHEET_TITLE_FORBIDDEN).split())
    return cleaned[:SHEET_TITLE_MAX] or "Sheet"


def _xlsx_chunks(sheets: Iterable[Sheet], zone: ZoneInfo) -> Iterator[bytes]:
    # openpyxl's write-only mode keeps each sheet in a temporary file rather than in memory, and
    # the finished workbook is spooled to disk too: memory stays flat however long the export.
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet in sheets:
        worksheet = workbook.create_sheet(sheet_title(sheet.title))
        worksheet.freeze_panes = "A2"
        header_cells = []
        for title in sheet.header:
            cell = _xlsx_cell(worksheet, str(title), zone)
            cell.font = bold
            header_cells.append(cell)
        worksheet.append(header_cells)
        for row in sheet.rows:
            worksheet.append([_xlsx_cell(worksheet, value, zone) for value in row])
    if not workbook.worksheets:
        workbook.create_sheet("Sheet")
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        spool.seek(0)
        while chunk := spool.read(XLSX_CHUNK_BYTES):
            yield chunk


def _download(body: Iterator[str] | Iterator[bytes], filename: str, mimetype: str) -> Response:
    # stream_with_context keeps the request (and so the database session) alive while the rows,
    # often a lazy query, are read after the view has returned.
    return _attachment(Response(stream_with_context(body), mimetype=mimetype), filename)


def _attachment(response: Response, filename: str) -> Response:
    # RFC 6266: an ASCII name for old clients, the exact UTF-8 name for the rest.
    response.headers.set(
        "Content-Disposition",
        "attachment",
        filename=secure_filename(unidecode(filename)) or "download",
        **{"filename*": "UTF-8''" + quote(filename, safe="!#$&+-.^_`|~")},
    )
    # Personal data: no shared or browser cache may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["GATELOG"].timezone)


def csv_response(
    filename: str, header: Sequence[object], rows: Iterable[Sequence[CellValue]]
) -> Response:
    """A streamed CSV download (UTF-8 with BOM, CRLF) of `header` then `rows`."""
    return _download(_csv_chunks(header, rows, _zone()), filename, CSV_MIMETYPE)


def document_response(filename: str, content: bytes, mimetype: str) -> Response:
    """A finished document (a PDF, a laid-out XLSX) as a download."""
    return _attachment(Response(content, mimetype=mimetype), filename)


def xlsx_response(filename: str, sheets: Iterable[Sheet]) -> Response:
    """A streamed XLSX download with one worksheet per `Sheet`, header row bold and frozen."""
    return _download(_xlsx_chunks(sheets, _zone()), filename, XLSX_MIMETYPE)
