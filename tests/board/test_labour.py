"""Workers by home province, with legacy names; the per-province lists; likely gone home."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from flask import Flask
from openpyxl import load_workbook

from server.board import labour
from server.models import AuditLog, utcnow
from tests.factories import (
    login,
    make_enterprise,
    make_event,
    make_gate,
    make_user,
    make_worker,
    make_zone,
)

BAC_NINH, HUNG_YEN, NGHE_AN = 24, 33, 40
# The gone-home page measures from the real clock, so the fixture does too.
NOW = utcnow()


@pytest.fixture
def people(app: Flask):  # type: ignore[no-untyped-def]
    zone_a, zone_b = make_zone(name="KCN Quế Võ"), make_zone(name="KCN Tiên Sơn")
    in_a = make_enterprise(name="May Quế Võ", zone_id=zone_a.id)
    in_b = make_enterprise(name="Điện tử Tiên Sơn", zone_id=zone_b.id)
    outside = make_enterprise(name="Gỗ Ngoài Khu", zone_id=None)

    def worker(enterprise, code, raw, **fields):  # type: ignore[no-untyped-def]
        return make_worker(enterprise, home_province_code=code, home_province_raw=raw, **fields)

    made = {
        "a1": worker(
            in_a,
            BAC_NINH,
            "Bắc Giang",
            full_name="Nguyễn Văn An",
            permanent_address="Lạng Giang, Bắc Giang",
        ),
        "a2": worker(in_a, BAC_NINH, "Tỉnh Bắc Giang", full_name="Trần Thị Bình"),
        "a3": worker(in_a, BAC_NINH, "Bắc Ninh", full_name="Lê Văn Cường"),
        "a4": worker(in_a, HUNG_YEN, "Thái Bình", full_name="Phạm Thị Dung"),
        "a5": worker(in_a, None, "", full_name="Hoàng Văn Em"),
        "gone": worker(in_a, NGHE_AN, "Nghệ An", full_name='=HYPERLINK("x")'),
        "b1": worker(in_b, HUNG_YEN, "Hưng Yên", full_name="Vũ Văn Phúc"),
        "b2": worker(in_b, BAC_NINH, "Bắc Giang", full_name="Đỗ Thị Giang"),
        "o1": worker(outside, NGHE_AN, "Nghệ An", full_name="Bùi Văn Hải"),
        "left": worker(in_a, BAC_NINH, "Bắc Giang", full_name="Đã Nghỉ", active=False),
    }
    gate = make_gate(in_a)
    make_event(
        gate, worker=made["gone"], direction="in", occurred_at=NOW - timedelta(days=20, hours=9)
    )
    make_event(gate, worker=made["gone"], direction="out", occurred_at=NOW - timedelta(days=20))
    make_event(gate, worker=made["a1"], direction="out", occurred_at=NOW - timedelta(days=30))
    make_event(gate, worker=made["a1"], direction="in", occurred_at=NOW - timedelta(days=29))
    make_event(gate, worker=made["a2"], direction="out", occurred_at=NOW - timedelta(days=2))
    return {"zones": (zone_a, zone_b), "enterprises": (in_a, in_b, outside), **made}


def rows_by_name(report: labour.ProvinceReport) -> dict[str, labour.ProvinceRow]:
    return {row.name or "?": row for row in report.rows}


def test_counts_per_province_with_legacy_names_inside_and_outside_zones(people) -> None:  # type: ignore[no-untyped-def]
    report = labour.province_report(make_user("admin"), labour.Scope())
    rows = rows_by_name(report)
    assert {name: row.total for name, row in rows.items()} == {
        "Bắc Ninh": 4,
        "Hưng Yên": 2,
        "Nghệ An": 2,
        "?": 1,
    }
    assert rows["Bắc Ninh"].legacy == {"Bắc Giang": 3, "Bắc Ninh": 1}
    assert rows["Hưng Yên"].legacy == {"Thái Bình": 1, "Hưng Yên": 1}
    assert (rows["Nghệ An"].inside, rows["Nghệ An"].outside) == (1, 1)
    zone_a, zone_b = people["zones"]
    assert rows["Bắc Ninh"].cells == {("in", zone_a.id): 3, ("in", zone_b.id): 1}
    assert (report.totals.inside, report.totals.outside, report.totals.total) == (8, 1, 9)
    assert [c.name for c in report.columns] == ["KCN Quế Võ", "KCN Tiên Sơn", ""]


def test_counts_per_enterprise_for_one_zone(people) -> None:  # type: ignore[no-untyped-def]
    zone_a, _ = people["zones"]
    report = labour.province_report(
        make_user("admin"), labour.Scope(zone_id=zone_a.id, by="enterprise")
    )
    assert [c.name for c in report.columns] == ["May Quế Võ"]
    assert report.totals.total == 6


def test_inspector_counts_only_its_zones(people) -> None:  # type: ignore[no-untyped-def]
    zone_a, _ = people["zones"]
    inspector = make_user("inspector", zones=(zone_a,))
    report = labour.province_report(inspector, labour.Scope())
    assert report.totals.total == 6
    assert report.totals.outside == 0


def test_likely_gone_home_is_an_old_last_exit(people) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("admin")
    rows = labour.gone_home_by_province(admin, labour.Scope(), before=NOW - timedelta(days=14))
    assert [(r.name, r.count) for r in rows] == [("Nghệ An", 1)]
    listed = list(
        labour.worker_list(admin, labour.Scope(), gone_home_before=NOW - timedelta(days=14))
    )
    assert [w.full_name for w in listed] == ['=HYPERLINK("x")']
    assert listed[0].last_seen == NOW - timedelta(days=20)


def test_a_worker_seen_since_at_another_enterprises_gate_has_not_gone_home(people) -> None:  # type: ignore[no-untyped-def]
    # Seconded: the last exit at home is old, an entry at the other enterprise's gate is not.
    in_b = people["enterprises"][1]
    make_event(make_gate(in_b), worker=people["gone"], occurred_at=NOW - timedelta(days=3))
    admin = make_user("admin")

    assert (
        labour.gone_home_by_province(admin, labour.Scope(), before=NOW - timedelta(days=14)) == []
    )
    listed = {w.full_name: w for w in labour.worker_list(admin, labour.Scope())}
    assert listed['=HYPERLINK("x")'].last_seen == NOW - timedelta(days=3)
    assert listed['=HYPERLINK("x")'].last_direction == "in"
    assert listed["Hoàng Văn Em"].last_seen is None


def test_per_province_xlsx_has_one_sheet_per_province_and_is_audited(client, people) -> None:  # type: ignore[no-untyped-def]
    admin = make_user("admin")
    login(client, admin)
    response = client.get("/board/labour/workers.xlsx", buffered=True)
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["Bắc Ninh", "Hưng Yên", "Nghệ An", "Không rõ"]
    sheet = book["Bắc Ninh"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("STT", "Họ và tên", "Số điện thoại")
    assert [r[0] for r in rows[1:]] == [1, 2, 3, 4]
    assert "Nguyễn Văn An" in [r[1] for r in rows[1:]]
    nghe_an = book["Nghệ An"]
    hostile = next(c for c in nghe_an["B"] if c.value == '=HYPERLINK("x")')
    assert hostile.data_type == "s"
    assert AuditLog.query.filter_by(action="board.export_workers_by_province").count() == 1


def test_single_province_list_and_gone_home_export(client, people) -> None:  # type: ignore[no-untyped-def]
    login(client, make_user("admin"))
    one = client.get(f"/board/labour/workers.xlsx?province={NGHE_AN}", buffered=True)
    assert load_workbook(io.BytesIO(one.data)).sheetnames == ["Nghệ An"]
    gone = client.get("/board/labour/gone-home?days=14&format=xlsx", buffered=True)
    assert load_workbook(io.BytesIO(gone.data)).sheetnames == ["Nghệ An"]
    page = client.get("/board/labour/gone-home?days=14")
    assert page.status_code == 200
    assert "Nghệ An" in page.get_data(as_text=True)


def test_report_page_and_summary_export(client, people) -> None:  # type: ignore[no-untyped-def]
    login(client, make_user("admin"))
    page = client.get("/board/labour")
    assert page.status_code == 200
    assert "Bắc Giang (3)" in page.get_data(as_text=True)
    summary = client.get("/board/labour?format=xlsx", buffered=True)
    sheet = load_workbook(io.BytesIO(summary.data)).active
    assert list(sheet.iter_rows(values_only=True))[-1][-1] == 9


def test_bad_province_and_days_are_refused_with_a_message(client, people) -> None:  # type: ignore[no-untyped-def]
    login(client, make_user("admin"))
    refused = {
        "/board/labour/gone-home?days=0": "Số ngày kể từ lượt ra cuối:",
        "/board/labour/gone-home?province=xyz": "Không phải tỉnh/thành phố hợp lệ.",
        "/board/labour?by=nonsense": "Cột:",
    }
    for url, message in refused.items():
        page = client.get(url)
        assert page.status_code == 200, url
        alerts = re.findall(r'role="alert">([^<]*)<', page.get_data(as_text=True))
        [alert] = alerts
        assert message in alert, url
    # The refused value is left out, not obeyed: the default 14 days still find who went home.
    page = client.get("/board/labour/gone-home?days=0").get_data(as_text=True)
    assert "Nghệ An" in page
    assert 'role="alert"' not in client.get("/board/labour/gone-home?days=14").get_data(
        as_text=True
    )
