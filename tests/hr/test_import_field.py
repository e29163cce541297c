"""Roster files as offices really send them: every readable worker kept, no spreadsheet bomb."""

from __future__ import annotations

import io
import itertools
import random
import re
import zipfile
from collections import Counter
from datetime import date

import pytest
from openpyxl import Workbook
from openpyxl.worksheet import _reader
from sqlalchemy import select

from server.extensions import db
from server.hr.roster import importer
from server.models import Worker
from tests.factories import login, make_enterprise, make_gate, make_user
from tests.foundation.test_address_corpus import HARD_CASES

KEY = re.compile(r'name="key" type="hidden" value="([^"]+)"')
TODAY = date(2026, 6, 1)


def xlsx(rows: list[list[object]], merges: tuple[str, ...] = ()) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    for cells in merges:
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_sheet_xml(content: bytes, change) -> bytes:  # type: ignore[no-untyped-def]
    """The workbook with its first sheet's XML passed through `change`."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = change(data)
            target.writestr(item, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def blank_rows_bomb(rows: int, *, declared: bool) -> bytes:
    """A small file holding `rows` blank rows, as the 57 KiB file of the field report did."""
    header = xlsx([["Họ và tên", "Mã nhân viên"], ["Mai Thị Hoa", "NV1"]])

    def add_blank_rows(xml: bytes) -> bytes:
        blanks = "".join(f'<row r="{n}" s="1" customFormat="1"/>' for n in range(3, rows + 3))
        xml = xml.replace(b"</sheetData>", blanks.encode() + b"</sheetData>")
        dimension = f'<dimension ref="A1:B{rows + 2}"/>'.encode() if declared else b""
        return re.sub(rb"<dimension [^>]*/>", dimension, xml)

    return with_sheet_xml(header, add_blank_rows)


@pytest.fixture
def rows_parsed(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Counts the sheet rows openpyxl's parser hands the reader."""
    counts: Counter[str] = Counter()
    parse_row = _reader.WorkSheetParser.parse_row

    def counting(self, element):  # type: ignore[no-untyped-def]
        counts["rows"] += 1
        return parse_row(self, element)

    monkeypatch.setattr(_reader.WorkSheetParser, "parse_row", counting)
    return counts


def test_a_sheet_declaring_400000_rows_is_refused_before_a_row_is_read(rows_parsed) -> None:
    bomb = blank_rows_bomb(400_000, declared=True)
    assert len(bomb) < 1024 * 1024  # small on the wire, as the field report's 57 KiB file
    with pytest.raises(importer.ImportFileError) as refused:
        importer.read_table("bomb.xlsx", io.BytesIO(bomb))
    assert refused.value.code == "too_many_rows_read"
    assert rows_parsed["rows"] == 0


def test_400000_blank_rows_without_a_declared_size_stop_the_reader_at_the_limit(
    rows_parsed,
) -> None:
    bomb = blank_rows_bomb(400_000, declared=False)
    with pytest.raises(importer.ImportFileError) as refused:
        importer.read_table("bomb.xlsx", io.BytesIO(bomb))
    assert refused.value.code == "too_many_rows_read"
    assert rows_parsed["rows"] <= importer.MAX_ROWS_READ + 1


FAR_ROW = b'<row r="1000000"><c r="A1000000" t="inlineStr"><is><t>x</t></is></c></row>'


def test_rows_far_below_the_data_count_as_read(rows_parsed) -> None:
    far = with_sheet_xml(
        xlsx([["Họ và tên", "Mã nhân viên"]]),
        lambda xml: re.sub(rb"<dimension [^>]*/>", b"", xml).replace(
            b"</sheetData>", FAR_ROW + b"</sheetData>"
        ),
    )
    with pytest.raises(importer.ImportFileError) as refused:
        importer.read_table("far.xlsx", io.BytesIO(far))
    assert refused.value.code == "too_many_rows_read"


def test_a_file_that_would_unpack_past_the_limit_is_refused_before_parsing(monkeypatch) -> None:
    padded = io.BytesIO()
    book = io.BytesIO(xlsx([["Họ và tên", "Mã nhân viên"]]))
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(padded, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename), zipfile.ZIP_DEFLATED)
        padding = bytes(importer.MAX_INFLATED_BYTES + 1)
        target.writestr("xl/media/padding.bin", padding, zipfile.ZIP_DEFLATED)
    assert len(padded.getvalue()) < 1024 * 1024
    monkeypatch.setattr(importer, "load_workbook", lambda *a, **k: pytest.fail("parsed"))
    with pytest.raises(importer.ImportFileError) as refused:
        importer.read_table("zip.xlsx", padded)
    assert refused.value.code == "too_large_inflated"


def test_a_csv_of_blank_lines_stops_at_the_limit() -> None:
    lines = itertools.repeat([""])
    with pytest.raises(importer.ImportFileError) as refused:
        importer._bounded(lines)  # an endless file: only the limit ends the reading
    assert refused.value.code == "too_many_rows_read"
    content = b"H\xe1\xbb\x8d v\xc3\xa0 t\xc3\xaan;M\xc3\xa3\r\n" + b"\r\n" * 400_000
    with pytest.raises(importer.ImportFileError):
        importer.read_table("blank.csv", io.BytesIO(content))


def test_the_paper_backfill_page_refuses_the_bomb_with_the_message(client) -> None:
    enterprise = make_enterprise()
    gate = make_gate(enterprise)
    login(client, make_user("hr", enterprise=enterprise))
    response = client.post(
        "/hr/backfill/import",
        data={
            "paper-file": (io.BytesIO(blank_rows_bomb(400_000, declared=True)), "so giay.xlsx"),
            "paper-gate_id": str(gate.id),
            "paper-tolerance": "0",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "hơn 25.000 dòng, kể cả dòng trống" in response.get_data(as_text=True)


def test_a_department_merged_down_a_team_reaches_every_row_it_covers() -> None:
    content = xlsx(
        [
            ["Họ và tên", "Mã nhân viên", "Bộ phận"],
            ["An", "NV1", "Tổ may 1"],
            ["Bình", "NV2", None],
            ["Chi", "NV3", None],
            ["Dũng", "NV4", "Kho"],
            [None, None, None],
        ],
        merges=("C2:C4", "C5:C6"),
    )
    sheet = importer.read_sheet(importer.read_table("r.xlsx", io.BytesIO(content)))
    departments = [row["cells"]["department"] for row in sheet.rows]
    assert departments == ["Tổ may 1", "Tổ may 1", "Tổ may 1", "Kho"]


@pytest.mark.parametrize(
    ("cells", "field", "stored"),
    [
        ({"national_id": "1195012345"}, "national_id", "001195012345"),  # two zeros lost
        ({"national_id": "34195012345"}, "national_id", "034195012345"),
        ({"national_id": "12345678"}, "national_id", "012345678"),  # a CMND of Hà Nội
        ({"phone": "chưa có"}, "phone", None),
        ({"phone": "Không có"}, "phone", None),
        ({"phone": "01689123456"}, "phone", "0389123456"),
        ({"date_of_birth": "1990"}, "birth_year", 1990),
        ({"date_of_birth": "1990"}, "date_of_birth", None),
        ({"date_of_birth": "17/05/1990"}, "birth_year", 1990),
        ({"sex": "Nữ"}, "sex", "F"),
        ({"sex": "nam"}, "sex", "M"),
        ({"department": "chưa có"}, "department", ""),
    ],
)
def test_cells_as_offices_write_them(cells, field, stored) -> None:
    row = importer.check_cells(2, {"full_name": "An", "employee_code": "NV1", **cells}, TODAY)
    assert (row.action, row.values[field], row.warnings) == ("valid", stored, [])


@pytest.mark.parametrize(
    ("field", "written"),
    [
        ("phone", "12345"),
        ("national_id", "12AB"),
        ("date_of_birth", "mùa xuân"),
        ("sex", "?"),
        ("department", "x" * 200),
    ],
)
def test_an_unreadable_optional_cell_is_imported_empty_with_a_warning(field, written) -> None:
    cells = {"full_name": "An", "employee_code": "NV1", field: written}
    row = importer.check_cells(2, cells, TODAY)
    assert row.action == "valid"
    assert [name for name, _code in row.warnings] == [field]
    assert row.values[field] in (None, "")


# The 5,000-line roster of the field report, made here: every way a cell was found written.
NAMES = ["Nguyễn Văn An", "Trần Thị Bích", "Lê Hoàng Cường", "Phạm Thị Dung", "Hoàng Văn Em"]
PHONES = [
    lambda n: f"09{n:08d}",
    lambda n: int(f"9{n:08d}"),  # a number: the leading zero lost
    lambda n: f"0168{n:07d}",  # a retired 11-digit mobile number
    lambda n: "chưa có",
    lambda n: f"+84 9{n:08d}",
    lambda n: "không có",
    lambda n: "12345",  # unreadable
]
NATIONAL_IDS = [
    lambda n: int(f"1{n:09d}"),  # 00 + 1…: two leading zeros lost
    lambda n: int(f"34{n:09d}"),  # 0 + 34…: one lost
    lambda n: f"024{n:09d}",
    lambda n: "",
    lambda n: "12AB",  # unreadable
]
BIRTHS = [lambda n: date(1990, 1 + n % 12, 1 + n % 28), lambda n: "17/05/1992", lambda n: 1988]
BIRTHS += [lambda n: "chưa có"]
SEXES = ["Nam", "Nữ", "", "nu"]
ADDRESSES = [text for text, _ in HARD_CASES]


def messy_roster(lines: int) -> tuple[bytes, int]:
    """The workbook and how many of its lines carry both a code and a name."""
    rng = random.Random(5000)
    rows: list[list[object]] = [
        ["CÔNG TY TNHH MAY XUẤT KHẨU HÀ PHONG"],
        ["DANH SÁCH NGƯỜI LAO ĐỘNG"],
        [],
        [
            "STT",
            "Họ và tên",
            "Mã NV",
            "Giới tính",
            "Ngày sinh",
            "CCCD",
            "SĐT",
            "Hộ khẩu thường trú",
            "Bộ phận",
        ],
    ]
    merges, readable = [], 0
    for n in range(lines):
        line = len(rows) + 1
        name = rng.choice(NAMES) if n % 997 != 13 else ""
        code = f"NV{n:05d}" if n % 1009 != 29 else None
        readable += bool(name and code)
        department = f"Tổ {n // 10 + 1}" if n % 10 == 0 else None
        if n % 10 == 0:
            merges.append(f"I{line}:I{min(line + 9, len(rows) + lines - n)}")
        rows.append(
            [
                n + 1,
                name,
                code,
                SEXES[n % len(SEXES)],
                BIRTHS[n % len(BIRTHS)](n),
                NATIONAL_IDS[n % len(NATIONAL_IDS)](n),
                PHONES[n % len(PHONES)](n),
                ADDRESSES[n % len(ADDRESSES)],
                department,
            ]
        )
    return xlsx(rows, merges=tuple(merges)), readable


def test_a_5000_line_messy_roster_imports_every_line_a_person_can_read(client) -> None:
    enterprise = make_enterprise()
    login(client, make_user("hr", enterprise=enterprise))
    content, readable = messy_roster(5_000)
    page = client.post(
        "/hr/roster/import",
        data={"file": (io.BytesIO(content), "danh sach 5000.xlsx")},
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    [key] = KEY.findall(page)
    result = client.post("/hr/roster/import/commit", data={"key": key}).get_data(as_text=True)

    workers = db.session.scalars(select(Worker).where(Worker.enterprise_id == enterprise.id)).all()
    warnings = Counter(re.findall(r'<ul class="warnings">(.*?)</ul>', result, re.S))
    flagged = sum(1 for w in workers if w.home_province_raw and w.home_province_code is None)
    figures = {
        "lines": 5_000,
        "with code and name": readable,
        "imported": len(workers),
        "refused": 5_000 - len(workers),
        "lines with a warning": sum(warnings.values()),
        "phones converted from 11 digits": sum(
            1 for w in workers if (w.phone or "").startswith("038")
        ),
        "CCCD restored to 12 digits": sum(
            1 for w in workers if (w.national_id or "").startswith("00")
        ),
        "birth year alone": sum(1 for w in workers if w.birth_year and not w.date_of_birth),
        "with a department": sum(1 for w in workers if w.department),
        "addresses kept unresolved, flagged": flagged,
        "with sex": sum(1 for w in workers if w.sex),
    }
    print("\n5,000-line messy roster:", figures)
    assert len(workers) == readable
    assert all(w.department for w in workers)  # the merged cells reached every row
    assert figures["phones converted from 11 digits"] > 0
    assert all(
        len(w.national_id) == 12 for w in workers if w.national_id and len(w.national_id) > 9
    )
    assert figures["birth year alone"] > 0
    assert figures["with sex"] > 0
    assert "nhập để trống" in result
