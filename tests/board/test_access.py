"""Who may read the board console, and that nobody writes through it."""

from __future__ import annotations

import pytest
from flask import Flask

from server.views_common import INSPECTOR_WRITABLE_ENDPOINTS
from tests.board.world import World, build_world
from tests.factories import login, make_user, make_visitor_pass, make_worker


@pytest.fixture
def world(app: Flask) -> World:
    return build_world()


def board_pages(app: Flask, world: World) -> list[str]:
    """Every GET page of the board, from the URL map, on rows of the inspector's zone."""
    worker = make_worker(world.ent)
    ids = {
        "enterprise_id": world.ent.id,
        "device_id": world.gapped.id,
        "worker_id": worker.id,
        "visitor_id": make_visitor_pass(world.ent).visitor_id,
    }
    # A province list is one province's: the workers whose home province is unknown here.
    queries = {
        "board.labour_province_list": "?province=unknown",
        "board.list_changes": "?province=24",  # changes since a province's list was sent
    }
    urls = []
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("board.") or "GET" not in rule.methods:
            continue
        formats = ("xlsx", "pdf") if "document_format" in rule.arguments else (None,)
        for document_format in formats:
            values: dict[str, object] = {name: ids[name] for name in rule.arguments if name in ids}
            if document_format:
                values["document_format"] = document_format
            path = rule.build(values, append_unknown=False)[1]  # type: ignore[index]
            urls.append(path + queries.get(rule.endpoint, ""))
    return urls


def test_inspector_can_read_every_board_page(app: Flask, client, world: World) -> None:
    login(client, world.inspector)
    pages = board_pages(app, world)
    assert len(pages) >= 10
    for url in pages:
        response = client.get(url, buffered=True)
        assert response.status_code == 200, url
        assert response.data, url


def test_inspector_can_write_nothing(app: Flask, client, world: World) -> None:
    login(client, world.inspector)
    board_and_admin = [
        r
        for r in app.url_map.iter_rules()
        if r.endpoint.split(".")[0] in ("board", "admin")
        and r.endpoint not in INSPECTOR_WRITABLE_ENDPOINTS  # recording a list sent
    ]
    for rule in board_and_admin:
        url = rule.rule.replace("<int:user_id>", str(world.inspector.id))
        url = url.replace("<int:zone_id>", str(world.zone.id)).replace(
            "<int:enterprise_id>", str(world.ent.id)
        )
        url = url.replace("<int:device_id>", str(world.gapped.id)).replace("<int:worker_id>", "1")
        url = url.replace("<int:visitor_id>", "1")
        assert client.post(url, data={"name": "x"}).status_code == 403, url
    assert client.post("/admin/settings", data={"lagging_after_minutes": "1"}).status_code == 403


def test_hr_cannot_reach_the_board_console(app: Flask, client, world: World) -> None:
    login(client, make_user("hr", enterprise=world.ent))
    for url in board_pages(app, world):
        assert client.get(url).status_code == 403, url


def test_inspector_sees_only_its_zones(client, world: World) -> None:
    login(client, world.inspector)
    page = client.get("/board/").get_data(as_text=True)
    assert world.ent.name in page
    assert world.other.name not in page
    assert world.outside.name not in page
    assert client.get(f"/board/?zone_id={world.other_zone.id}").status_code == 404
    assert client.get(f"/board/labour?enterprise_id={world.other.id}").status_code == 404
    assert client.get(f"/board/enterprises/{world.outside.id}").status_code == 404
    assert client.get(f"/board/devices/{world.fresh.id}").status_code == 404
    stranger = make_worker(world.other, full_name="Người Ngoài Vùng")
    assert client.get(f"/board/tracing/workers/{stranger.id}").status_code == 404
    assert "Người Ngoài Vùng" not in client.get("/board/tracing?q=nguoi ngoai").get_data(
        as_text=True
    )


def test_board_pages_are_vietnamese_by_default(client, world: World) -> None:
    login(client, world.inspector)
    page = client.get("/board/").get_data(as_text=True)
    assert "Tình trạng đồng bộ" in page
    assert "Còn ghi sổ giấy" in page
