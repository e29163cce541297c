"""Appendix 01 and the lists per province as documents ready to send, in XLSX and in PDF.

They go to other provinces' labour departments, so they are laid out as Vietnamese
administrative documents (Decree 30/2020/ND-CP): the issuing body and the national motto side by
side at the top, the number, place and date, the title, the table, then "Nơi nhận" and the
signature block. They are written in Vietnamese whatever the console's language: the documents
of the state are. The PDF is made here, without a browser, with a font shipped in server/fonts.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from server.board.labour import ListedWorker, ProvinceReport
from server.exports import is_formula_like, sheet_title
from server.provinces import PROVINCE_FULL_NAMES, PROVINCE_SHORT_NAMES

NATION = "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
FONTS = Path(__file__).resolve().parent.parent / "fonts"
FONT_FAMILY = "DejaVuSerifCondensed"


@dataclass(frozen=True)
class Letterhead:
    """What the administrator set (server/admin/letterhead.py), as plain text."""

    superior_body: str
    body: str
    number_suffix: str
    place: str
    signer_capacity: str
    signer_title: str
    signer_name: str
    recipients: tuple[str, ...]


@dataclass(frozen=True)
class Document:
    letterhead: Letterhead
    annex: str  # "Phụ lục 01", or ""
    title: str
    subtitle: str
    header: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    totals: tuple[object, ...] | None
    widths: tuple[float, ...]  # relative width of each column
    issued_on: date
    filename: str  # without the extension

    @property
    def landscape(self) -> bool:
        return len(self.header) > 7


def date_line(place: str, day: date) -> str:
    """ "Bắc Giang, ngày 02 tháng 12 năm 2026": Decree 30 writes days below 10 and months below 3
    with a leading zero."""
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"{place}, ngày {day.day:02d} tháng {month} năm {day.year}"


def number_line(suffix: str) -> str:
    # The number is given by the clerk who registers the outgoing document, so it stays blank.
    return f"Số:        /{suffix}" if suffix else "Số:        /"


UNKNOWN_PROVINCE = "Chưa xác định (địa chỉ cần kiểm tra)"


def appendix_01(
    report: ProvinceReport, letterhead: Letterhead, *, area: str, as_of: date, by_enterprise: bool
) -> Document:
    """Workers by the province they live in: the 34 provinces, the former names as imported,
    women, inside and outside the industrial zones, and each enterprise when asked."""
    extra = list(report.columns) if by_enterprise else []
    header = (
        "STT",
        "Tỉnh, thành phố nơi thường trú",
        "Tên tỉnh trước ngày 01/7/2025 (theo dữ liệu nhập)",
        "Tổng số lao động",
        "Trong đó: nữ",
        "Trong KCN",
        "Ngoài KCN",
        *(c.name or "Ngoài KCN" for c in extra),
    )
    by_code = {row.code: row for row in report.rows}
    rows: list[tuple[object, ...]] = []
    for code in sorted(PROVINCE_SHORT_NAMES):
        row = by_code.get(code)
        former = ", ".join(f"{n} ({k})" for n, k in row.legacy.items()) if row else ""
        counts = (row.total, row.women, row.inside, row.outside) if row else (0, 0, 0, 0)
        cells = [row.cells.get(c.key, 0) if row else 0 for c in extra]
        rows.append((len(rows) + 1, PROVINCE_SHORT_NAMES[code], former, *counts, *cells))
    if None in by_code:
        unknown = by_code[None]
        former = ", ".join(f"{n} ({k})" for n, k in unknown.legacy.items())
        counts = (unknown.total, unknown.women, unknown.inside, unknown.outside)
        cells = [unknown.cells.get(c.key, 0) for c in extra]
        rows.append((len(rows) + 1, UNKNOWN_PROVINCE, former, *counts, *cells))
    totals = report.totals
    return Document(
        letterhead=letterhead,
        annex="Phụ lục 01",
        title="BẢNG TỔNG HỢP SỐ LƯỢNG LAO ĐỘNG THEO TỈNH, THÀNH PHỐ NƠI THƯỜNG TRÚ",
        subtitle=f"Lao động đang làm việc tại {area}, số liệu đến ngày {as_of:%d/%m/%Y}",
        header=header,
        rows=tuple(rows),
        totals=(
            "",
            "Tổng cộng",
            "",
            totals.total,
            totals.women,
            totals.inside,
            totals.outside,
            *(totals.cells.get(c.key, 0) for c in extra),
        ),
        widths=(0.5, 1.6, 2.4, 1, 0.9, 0.9, 0.9, *(1.0 for _ in extra)),
        issued_on=as_of,
        filename=f"Phụ lục 01 - Tổng hợp lao động theo tỉnh - {as_of:%d.%m.%Y}",
    )


def province_list(
    workers: Sequence[ListedWorker],
    code: int | None,
    letterhead: Letterhead,
    *,
    area: str,
    as_of: date,
) -> Document:
    """The detailed list of one province's workers, to send to that province's department."""
    province = PROVINCE_FULL_NAMES[code] if code is not None else UNKNOWN_PROVINCE
    rows = tuple(
        (
            number,
            w.full_name,
            w.phone,
            w.permanent_address or w.home_province_raw,
            w.enterprise,
            w.department,
        )
        for number, w in enumerate(workers, 1)
    )
    short = PROVINCE_SHORT_NAMES.get(code, "chưa xác định") if code is not None else "chưa xác định"
    return Document(
        letterhead=letterhead,
        annex="",
        title=f"DANH SÁCH NGƯỜI LAO ĐỘNG CÓ NƠI THƯỜNG TRÚ TẠI {province.upper()}",
        subtitle=f"Lao động đang làm việc tại {area}, số liệu đến ngày {as_of:%d/%m/%Y}",
        header=("STT", "Họ và tên", "Số điện thoại", "Nơi thường trú", "Doanh nghiệp", "Bộ phận"),
        rows=rows,
        totals=("", f"Tổng cộng: {len(rows)} người", "", "", "", ""),
        widths=(0.5, 2.2, 1.3, 2.6, 1.8, 1.2),
        issued_on=as_of,
        filename=f"Danh sách lao động {short} - {as_of:%d.%m.%Y}",
    )


# The XLSX


_THIN = Side(style="thin")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_CENTRE = Alignment(horizontal="center", vertical="center", wrap_text=True)


def to_xlsx(document: Document) -> bytes:
    book = Workbook()
    book.remove(book.worksheets[0])
    sheet = book.create_sheet(sheet_title(document.annex or document.title))
    columns = len(document.header)
    left = max(1, columns // 2)
    head = document.letterhead
    line = 1

    def put(row: int, first: int, last: int, text: str, **style: object) -> None:
        if last > first:
            sheet.merge_cells(start_row=row, start_column=first, end_row=row, end_column=last)
        cell = sheet.cell(row=row, column=first, value=text)
        cell.font = Font(name="Times New Roman", size=12, **style)  # type: ignore[arg-type]
        cell.alignment = _CENTRE

    put(line, 1, left, head.superior_body.upper())
    put(line, left + 1, columns, NATION, bold=True)
    line += 1
    put(line, 1, left, head.body.upper(), bold=True)
    put(line, left + 1, columns, MOTTO, bold=True)
    line += 1
    put(line, 1, left, number_line(head.number_suffix))
    put(line, left + 1, columns, date_line(head.place, document.issued_on), italic=True)
    line += 2
    if document.annex:
        put(line, 1, columns, document.annex, bold=True)
        line += 1
    put(line, 1, columns, document.title, bold=True)
    line += 1
    put(line, 1, columns, document.subtitle, italic=True)
    line += 2
    table_top = line
    for position, title in enumerate(document.header, 1):
        cell = sheet.cell(row=line, column=position, value=title)
        cell.font, cell.alignment, cell.border = Font(bold=True), _CENTRE, _BOX
    body_rows = [*document.rows, *([document.totals] if document.totals else [])]
    for values in body_rows:
        line += 1
        for position, value in enumerate(values, 1):
            cell = sheet.cell(row=line, column=position)
            if isinstance(value, str):
                cell.value = value
                if is_formula_like(value):  # a name typed as "=…" stays text
                    cell.data_type, cell.quotePrefix = "s", True
            else:
                cell.value = value  # type: ignore[assignment]
            cell.border = _BOX
            cell.alignment = Alignment(vertical="top", wrap_text=True)
            if document.totals is not None and values is document.totals:
                cell.font = Font(bold=True)
    sheet.freeze_panes = sheet.cell(row=table_top + 1, column=1)
    line += 2
    put(line, 1, left, "Nơi nhận:", bold=True, italic=True)
    signer = [head.signer_capacity, head.signer_title]
    for offset, text in enumerate(t for t in signer if t):
        put(line + offset, left + 1, columns, text.upper(), bold=True)
    for offset, recipient in enumerate(head.recipients, 1):
        sheet.cell(row=line + offset, column=1, value=f"- {recipient}").font = Font(size=11)
    name_line = line + max(len(head.recipients) + 1, 6)
    put(name_line, left + 1, columns, head.signer_name, bold=True)
    total_width = sum(document.widths)
    for position, width in enumerate(document.widths, 1):
        letter = get_column_letter(position)
        sheet.column_dimensions[letter].width = max(6.0, 110 * width / total_width)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# The PDF


class _Pdf(FPDF):
    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT_FAMILY, "I", 8)
        self.cell(0, 6, f"{self.page_no()}/{{nb}}", align="C")


def to_pdf(document: Document) -> bytes:
    pdf = _Pdf(orientation="L" if document.landscape else "P", unit="mm", format="A4")
    pdf.set_margins(20, 15, 15)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.add_font(FONT_FAMILY, "", FONTS / "DejaVuSerifCondensed.ttf")
    pdf.add_font(FONT_FAMILY, "B", FONTS / "DejaVuSerifCondensed-Bold.ttf")
    pdf.add_font(FONT_FAMILY, "I", FONTS / "DejaVuSerifCondensed-Italic.ttf")
    pdf.set_title(document.title)
    pdf.set_creator("Gate log")
    pdf.add_page()
    head = document.letterhead
    width = pdf.epw
    half = width * 0.45
    top = pdf.get_y()
    _two_columns(
        pdf,
        half,
        [
            ("", head.superior_body.upper()),
            ("B", head.body.upper()),
            ("", number_line(head.number_suffix)),
        ],
        [("B", NATION), ("B", MOTTO), ("I", date_line(head.place, document.issued_on))],
        top,
        rule_under=1,
    )
    pdf.ln(4)
    if document.annex:
        pdf.set_font(FONT_FAMILY, "B", 11)
        pdf.cell(width, 6, document.annex, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, "B", 13)
    pdf.multi_cell(width, 6.5, document.title, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT_FAMILY, "I", 11)
    pdf.multi_cell(width, 6, document.subtitle, align="C", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)
    pdf.set_font(FONT_FAMILY, "", 9.5)
    total = sum(document.widths)
    widths = [width * w / total for w in document.widths]
    with pdf.table(
        col_widths=widths,
        text_align=tuple(_alignment(document, i) for i in range(len(widths))),
        line_height=5,
        repeat_headings=1,
    ) as table:
        heading = table.row()
        pdf.set_font(FONT_FAMILY, "B", 9.5)
        for title in document.header:
            heading.cell(title, align="C")
        pdf.set_font(FONT_FAMILY, "", 9.5)
        for values in document.rows:
            row = table.row()
            for value in values:
                row.cell(_text(value))
        if document.totals is not None:
            row = table.row()
            pdf.set_font(FONT_FAMILY, "B", 9.5)
            for value in document.totals:
                row.cell(_text(value))
    pdf.ln(6)
    if pdf.will_page_break(40):
        pdf.add_page()
    signer = [("B", t.upper()) for t in (head.signer_capacity, head.signer_title) if t]
    signer += [("", ""), ("", ""), ("", ""), ("B", head.signer_name)]
    recipients = [("B", "Nơi nhận:")] + [("", f"- {r}") for r in head.recipients]
    _two_columns(pdf, half, recipients, signer, pdf.get_y(), left_align="L", small_left=True)
    return bytes(pdf.output())


def _alignment(document: Document, index: int) -> str:
    numeric = [isinstance(row[index], int) for row in document.rows if len(row) > index]
    return "R" if numeric and all(numeric) else "L"


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def _two_columns(
    pdf: FPDF,
    left_width: float,
    left: Sequence[tuple[str, str]],
    right: Sequence[tuple[str, str]],
    top: float,
    *,
    left_align: str = "C",
    small_left: bool = False,
    rule_under: int | None = None,
) -> None:
    """Two blocks side by side, as the header and the closing of the document are set.

    Decree 30 rules a line under the issuing body (about a third of its name) and under the
    motto (as long as the motto): `rule_under` is the index of those lines in both blocks.
    """
    right_x = pdf.l_margin + left_width
    right_width = pdf.epw - left_width
    bottoms = []
    for x, width, block, align, share in (
        (pdf.l_margin, left_width, left, left_align, 0.4),
        (right_x, right_width, right, "C", 1.0),
    ):
        pdf.set_xy(x, top)
        for index, (style, text) in enumerate(block):
            small = small_left and x == pdf.l_margin and style != "B"
            pdf.set_font(FONT_FAMILY, style, 10 if small else 11)
            pdf.set_x(x)
            pdf.multi_cell(width, 5.5, text, align=align, new_x=XPos.LEFT, new_y=YPos.NEXT)
            if index == rule_under and text:
                rule = min(pdf.get_string_width(text), width) * share
                middle = x + width / 2
                pdf.line(middle - rule / 2, pdf.get_y() + 0.5, middle + rule / 2, pdf.get_y() + 0.5)
                pdf.set_y(pdf.get_y() + 1.5)
        bottoms.append(pdf.get_y())
    pdf.set_xy(pdf.l_margin, max(bottoms))
