"""Who may read the board console, and that nobody writes through it."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.board.world import World, build_world
from tests.factories import login, make_user, make_worker

BOARD_PAGES = (
    "/board/",
    "/board/labour",
    "/board/labour/gone-home",
    "/board/tracing",
    "/board/audit",
)


@pytest.fixture
def world(app: Flask) -> World:
    return build_world()


def test_inspector_can_read_every_board_page(client, world: World) -> None:
    login(client, world.inspector)
    for url in BOARD_PAGES:
        assert client.get(url).status_code == 200, url


def test_inspector_can_write_nothing(app: Flask, client, world: World) -> None:
    login(client, world.inspector)
    board_and_admin = [
        r for r in app.url_map.iter_rules() if r.endpoint.split(".")[0] in ("board", "admin")
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


def test_hr_cannot_reach_the_board_console(client, world: World) -> None:
    login(client, make_user("hr", enterprise=world.ent))
    for url in (
        *BOARD_PAGES,
        f"/board/enterprises/{world.ent.id}",
        f"/board/devices/{world.gapped.id}",
    ):
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
