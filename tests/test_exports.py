"""The shared spreadsheet downloads: streamed, readable by Excel, never a formula."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from server.exports import Sheet, csv_response, neutralise, sheet_title, xlsx_response

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tTab", "\rCR"]


def _rows_once(rows):
    """A one-pass iterator, like a server-side cursor."""
    yield from rows


def test_neutralise_prefixes_every_formula_trigger_and_leaves_plain_text():
    assert [neutralise(text) for text in HOSTILE] == ["'" + text for text in HOSTILE]
    assert neutralise("Nguyễn Văn A") == "Nguyễn Văn A"
    assert neutralise("") == ""


def test_csv_is_streamed_utf8_with_bom_and_neutralised(app):
    rows = [
        ["=1+1", "Nguyễn Thị Ánh", 42, None],
        ["@cmd", "Đặng Văn Đức", 3.5, date(2026, 1, 2)],
        # 10:15 UTC is 17:15 in Hà Nội: times are shown as users read them.
        ["-5", "Lê B", 0, datetime(2026, 1, 2, 10, 15, tzinfo=UTC)],
    ]
    with app.test_request_context():
        response = csv_response("danh-sách.csv", ["Mã", "Họ và tên", "Số", "Khi"], _rows_once(rows))
        assert response.is_streamed
        assert response.mimetype == "text/csv"
        assert response.headers["Cache-Control"] == "no-store"
        disposition = response.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert (
            disposition == "attachment; filename=danh-sach.csv; filename*=UTF-8''danh-s%C3%A1ch.csv"
        )
        body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert parsed == [
        ["Mã", "Họ và tên", "Số", "Khi"],
        ["'=1+1", "Nguyễn Thị Ánh", "42", ""],
        ["'@cmd", "Đặng Văn Đức", "3.5", "2026-01-02"],
        ["'-5", "Lê B", "0", "2026-01-02 17:15:00"],
    ]
    assert b"\r\n" in body


def test_csv_of_many_rows_arrives_in_several_chunks(app):
    rows = ([f"NV{n:05d}", "Trần Thị Bình", n] for n in range(5000))
    with app.test_request_context():
        response = csv_response("roster.csv", ["code", "name", "n"], rows)
        chunks = list(response.response)
    assert len(chunks) > 3
    text = b"".join(chunk if isinstance(chunk, bytes) else chunk.encode() for chunk in chunks)
    assert text.decode("utf-8-sig").count("\r\n") == 5001


def test_xlsx_holds_every_sheet_typed_and_hostile_text_as_plain_text(app):
    sheets = [
        Sheet(
            "Nhân viên",
            ["Mã", "Họ và tên", "Ngày sinh", "Lúc"],
            _rows_once(
                [
                    [f"NV{n}", text, date(2000, 1, n + 1), datetime(2026, 1, 2, 1, 0, tzinfo=UTC)]
                    for n, text in enumerate(HOSTILE)
                ]
            ),
        ),
        Sheet(
            "Tóm tắt: [tỉnh]/huyện*?", ["Tỉnh", "Số người"], [["Bắc Ninh", 12], ["Hà Nội", None]]
        ),
    ]
    with app.test_request_context():
        response = xlsx_response("roster.xlsx", sheets)
        assert response.is_streamed
        assert response.mimetype.endswith("spreadsheetml.sheet")
        body = response.get_data()
    workbook = load_workbook(io.BytesIO(body))
    assert workbook.sheetnames == ["Nhân viên", "Tóm tắt tỉnh huyện"]
    people = workbook["Nhân viên"]
    assert people.freeze_panes == "A2"
    assert [cell.value for cell in people[1]] == ["Mã", "Họ và tên", "Ngày sinh", "Lúc"]
    assert people["A1"].font.bold
    names = [row[1] for row in people.iter_rows(min_row=2)]
    # XML parsers read a carriage return as a line feed; the text is otherwise kept as given.
    assert [cell.value for cell in names] == [text.replace("\r", "\n") for text in HOSTILE]
    for cell in names:
        assert cell.data_type == "s"
        assert cell.quotePrefix
    assert people["C2"].value == datetime(2000, 1, 1)
    assert people["C2"].number_format == "dd/mm/yyyy"
    assert people["D2"].value == datetime(2026, 1, 2, 8, 0)
    summary = workbook["Tóm tắt tỉnh huyện"]
    assert [[cell.value for cell in row] for row in summary.iter_rows()] == [
        ["Tỉnh", "Số người"],
        ["Bắc Ninh", 12],
        ["Hà Nội", None],
    ]


def test_xlsx_drops_characters_xml_cannot_hold(app):
    with app.test_request_context():
        body = xlsx_response("x.xlsx", [Sheet("a", ["t"], [["Ng\x00uyễn\x07 A"]])]).get_data()
    assert load_workbook(io.BytesIO(body)).active["A2"].value == "Nguyễn A"


def test_xlsx_without_sheets_is_still_a_valid_workbook(app):
    with app.test_request_context():
        body = xlsx_response("empty.xlsx", []).get_data()
    assert load_workbook(io.BytesIO(body)).sheetnames == ["Sheet"]


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Danh sách lao động theo tỉnh năm 2026", "Danh sách lao động theo tỉnh nă"),
        ("///", "Sheet"),
    ],
)
def test_sheet_title_fits_excel_rules(title, expected):
    assert sheet_title(title) == expected
