"""The evacuation roll call on a real tablet with the server stopped: who is inside from the
server's last list and the tablet's own later records, ticks that survive a reload, and the
roll call reaching HR once the server is back."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.e2e.harness import DEPARTMENTS, wait_until
from tests.e2e.test_beyond import hr_client
from tests.e2e.test_gate_app import DRAIN_TIMEOUT, enrolled


def seed_other_gate(app, gate_id: int, entered: list[int], left: list[int]) -> None:
    """Entries (and exits) recorded at the other gate an hour ago, already on the server."""
    from server.extensions import db
    from server.models import Gate, Worker, utcnow
    from tests.factories import make_event

    with app.app_context():
        gate = db.session.get(Gate, gate_id)
        hour_ago = utcnow() - timedelta(hours=1)
        for worker_id in entered + left:
            make_event(gate, worker=db.session.get(Worker, worker_id), occurred_at=hour_ago)
        for worker_id in left:
            make_event(
                gate,
                worker=db.session.get(Worker, worker_id),
                occurred_at=hour_ago + timedelta(minutes=5),
                direction="out",
            )
        db.session.remove()


def stored_roll_calls(app) -> list[dict]:
    from server.extensions import db
    from server.models import RollCall

    with app.app_context():
        calls = [
            {
                "id": call.id,
                "closed": call.closed_at is not None,
                "entries": {e.person_key: e.ticked_at is not None for e in call.entries},
            }
            for call in db.session.scalars(select(RollCall))
        ]
        db.session.remove()
    return calls


def key(worker) -> str:
    return f"w:{worker['id']}"


def test_roll_call_with_the_server_down_reaches_hr_once_it_is_back(site, open_tablet):
    workers = site.world.workers
    seed_other_gate(
        site.app,
        site.world.gates[1]["id"],
        entered=[w["id"] for w in workers[10:15]],
        left=[workers[15]["id"]],
    )
    tablet = enrolled(open_tablet, site)
    page = tablet.page
    wait_until(
        lambda: page.evaluate("import('/app/js/db.js').then((db) => db.getMeta('inside'))"),
        30,
        "the tablet kept who is inside",
    )
    for worker in workers[:2]:
        tablet.scan(f"GL1:W:{worker['badge']}")
    tablet.wait_waiting(0, DRAIN_TIMEOUT)

    site.server.kill()
    tablet.scan(f"GL1:W:{workers[2]['badge']}")
    # Someone the server counted inside leaves by this gate while the link is down.
    page.fill("#search", workers[10]["code"])
    page.locator(
        f"#results li[data-person-id='{workers[10]['id']}'] button[data-direction='out']"
    ).click()
    tablet.wait_saved()

    page.click("#rollcall-button")
    page.wait_for_selector("#rollcall-view:not([hidden])")
    expected = {key(w) for w in [*workers[:3], *workers[11:15]]}
    listed = set(
        page.eval_on_selector_all("#rc-list button[data-key]", "bs => bs.map((b) => b.dataset.key)")
    )
    assert listed == expected
    assert page.get_attribute("#rc-summary", "data-total") == "7"
    assert "Đã có mặt 0/7" in page.inner_text("#rc-summary")
    headings = page.inner_text("#rc-list")
    for n in (0, 1, 2, 11, 12, 13, 14):
        assert f"{DEPARTMENTS[n % len(DEPARTMENTS)]} (" in headings

    page.click(f"#rc-list button[data-key='{key(workers[0])}']")
    page.click(f"#rc-list button[data-key='{key(workers[11])}']")
    # A badge scanned at the assembly point ticks its holder off.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.type(f"GL1:W:{workers[12]['badge']}")
    page.keyboard.press("Enter")
    page.wait_for_selector("#rc-summary[data-seen='3']")
    assert page.get_attribute("#rc-sync", "data-state") == "waiting"
    tablet.screenshot("24-roll-call-offline")

    tablet.reload()
    page.click("#rollcall-button")
    page.wait_for_selector("#rc-summary[data-seen='3']")
    assert page.get_attribute("#rc-summary", "data-total") == "7"
    page.click("#menu-button")
    page.click("#unenrol-button")
    page.wait_for_selector("#menu-message:not([hidden])")
    assert "Không huỷ đăng ký được" in page.inner_text("#menu-message")
    page.click("#menu-close")
    page.click("#rc-finish")
    page.wait_for_selector("#rc-finish[hidden]", state="attached")

    site.server.start()
    page.click("#sync-now")
    page.wait_for_selector("#rc-sync[data-state='sent']", timeout=DRAIN_TIMEOUT * 1000)
    calls = stored_roll_calls(site.app)
    assert len(calls) == 1
    assert calls[0]["closed"]
    assert calls[0]["entries"] == {
        k: k in {key(workers[0]), key(workers[11]), key(workers[12])} for k in expected
    }

    client = hr_client(site.app)
    listing = client.get("/hr/rollcall").get_data(as_text=True)
    assert f'data-roll-call="{calls[0]["id"]}"' in listing
    assert "3 / 7" in listing
    detail = client.get(f"/hr/rollcall/{calls[0]['id']}").get_data(as_text=True)
    assert (
        detail.index('id="missing"') < detail.index(workers[13]["name"]) < detail.index('id="seen"')
    )
