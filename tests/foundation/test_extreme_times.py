"""Every console page renders whatever time the database holds, down to year 1 and up to 9999,
and whatever bytes its query string holds.

The API keeps what it stores inside the protocol's window (sync/PROTOCOL.md, "Times"), but rows
written before that rule, by a restore or by hand, must never take a page down.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask

from server.extensions import db
from server.models import UTCDateTime
from server.views_common import localtime
from tests.factories import login, make_user, make_zone
from tests.foundation.test_scoping import console_rules, make_tenant, url_for_rule

# (every stored time, the device's UTC offset in minutes): each pair pushes the local or the
# device time past the end of Python's calendar.
EXTREMES = [
    (datetime(1, 1, 1, tzinfo=UTC), -720),
    (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), 840),
]


def store_everywhere(moment: datetime, offset_minutes: int) -> None:
    for table in db.metadata.sorted_tables:
        values: dict[str, Any] = {
            column.name: moment for column in table.columns if isinstance(column.type, UTCDateTime)
        }
        if "occurred_offset_minutes" in table.columns:
            values["occurred_offset_minutes"] = offset_minutes
        if values:
            db.session.execute(table.update().values(values))
    db.session.commit()


def spreadsheet_variants(url: str, query: str) -> list[str]:
    """The page, and its XLSX export where the route takes a format (Excel starts in 1900)."""
    if url.endswith(".csv"):
        return [f"{url}?{query}", url.removesuffix(".csv") + f".xlsx?{query}"]
    return [f"{url}?{query}", f"{url}?format=xlsx&{query}"]


def failing_console_pages(app: Flask, *, before: Callable[[], None], query: str = "") -> list:
    """Every console GET page of a fresh tenant, seen by its role, that answers 5xx."""
    zone = make_zone()
    tenant = make_tenant(zone)
    # Names, not rows: each request ends its own session, and the rows would go stale with it.
    usernames = {
        "hr": tenant["hr"].username,
        "board": make_user("inspector", zones=(zone,)).username,
        "admin": make_user("admin").username,
    }
    before()
    failures = []
    for blueprint, username in usernames.items():
        client = app.test_client()
        login(client, SimpleNamespace(username=username))
        for rule in console_rules(app):
            if rule.endpoint.split(".")[0] != blueprint or "GET" not in rule.methods:
                continue
            for url in spreadsheet_variants(url_for_rule(rule, tenant["ids"]), query):
                # Buffered: exports stream, and their rows are written only while read.
                response = client.get(url, buffered=True)
                if response.status_code >= 500:
                    failures.append((url, response.status_code))
                if response.mimetype.startswith("text/"):
                    response.get_data().decode("utf-8")  # an unencodable page fails here
    return failures


@pytest.mark.parametrize(("moment", "offset_minutes"), EXTREMES, ids=["year-1", "year-9999"])
def test_every_console_page_renders_extreme_stored_times(
    app: Flask, moment: datetime, offset_minutes: int
) -> None:
    assert failing_console_pages(app, before=lambda: store_everywhere(moment, offset_minutes)) == []


def test_every_console_page_answers_broken_query_text(app: Flask) -> None:
    # A lone surrogate's UTF-8 bytes and bytes that are no UTF-8, in the usual filter names.
    broken = "%ED%B2%80"
    query = "&".join(
        f"{name}={broken}%FF" for name in ("q", "day", "page", "cursor", "gate", "from", "to")
    )

    assert failing_console_pages(app, before=lambda: None, query=query) == []


@pytest.mark.parametrize(
    "value",
    [
        datetime(1, 1, 1),
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59),
        datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
    ],
)
def test_localtime_formats_any_time_naive_or_aware(app: Flask, value: datetime) -> None:
    shown = localtime(value)

    assert str(value.year) in shown
