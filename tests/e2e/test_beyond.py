"""Beyond the anchors, on a real tablet: the waiting-events file made with the server down and
uploaded by HR, un-enrolling refused while events wait, a wiped storage announced on start."""

from __future__ import annotations

import io
import json

from sync.outbox_file import FORMAT
from tests.e2e.harness import stored_events
from tests.e2e.test_gate_app import DRAIN_TIMEOUT, enrolled, scanned_offline


def hr_client(app):
    """A Flask test client signed in as an HR user of the seeded enterprise."""
    from server.extensions import db
    from server.models import Enterprise
    from tests.factories import login, make_user

    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        enterprise = db.session.query(Enterprise).filter_by(name="Công ty TNHH May Đồng Nai").one()
        user = make_user("hr", enterprise=enterprise)
        client = app.test_client()
        login(client, user)
        db.session.remove()
    return client


def upload(client, data: bytes) -> str:
    response = client.post(
        "/hr/tablets/outbox-file",
        data={"file": (io.BytesIO(data), "outbox.json")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def signing_key_of(tablet) -> dict:
    """What the gate app keeps in IndexedDB to sign files (a CryptoKey cannot leave the page)."""
    return tablet.page.evaluate(
        """async () => {
            const { getMeta } = await import('/app/js/db.js');
            const key = (await getMeta('device')).signing_key;
            return { type: key.type, name: key.algorithm.name, extractable: key.extractable };
        }"""
    )


def registered_public_key(app, device_id: int) -> str | None:
    from server.extensions import db
    from server.models import Device

    with app.app_context():
        public_key = db.session.get(Device, device_id).public_key
        db.session.remove()
    return public_key


def open_menu(tablet) -> None:
    tablet.page.click("#menu-button")
    tablet.page.wait_for_selector("#menu-dialog[open]")


def test_file_exported_with_the_server_down_is_stored_once_and_unenrol_waits_for_it(
    site, open_tablet, tmp_path
):
    workers = site.world.workers[:3]
    tablet = scanned_offline(open_tablet, site, workers)

    open_menu(tablet)
    tablet.page.click("#unenrol-button")
    tablet.page.wait_for_selector("#menu-message:not([hidden])")
    message = tablet.page.inner_text("#menu-message")
    assert "Không huỷ đăng ký được" in message
    assert "3 lượt" in message
    assert tablet.page.is_hidden("#unenrol-confirm")

    with tablet.page.expect_download() as download:
        tablet.page.click("#export-button")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    tablet.page.wait_for_selector("#menu-message:has-text('Đã lưu 3 lượt')")
    tablet.screenshot("20-export-waiting-events")
    document = json.loads(saved.read_text(encoding="utf-8"))
    assert document["format"] == FORMAT
    assert [event["seq"] for event in document["events"]] == [1, 2, 3]
    # Exporting keeps the events on the tablet: only an ack removes them.
    tablet.wait_waiting(3, 10)
    # The file is signed by a key the tablet cannot give away; the server holds its public half.
    assert signing_key_of(tablet) == {"type": "private", "name": "ECDSA", "extractable": False}
    assert registered_public_key(site.app, document["device_id"])

    client = hr_client(site.app)
    tampered = {**document, "events": [{**document["events"][0], "direction": "out"}]}
    refused = client.post(
        "/hr/tablets/outbox-file",
        data={"file": (io.BytesIO(json.dumps(tampered).encode()), "outbox.json")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    assert "Chữ ký của tệp không khớp" in refused.get_data(as_text=True)
    assert stored_events(site.app) == []
    page = upload(client, saved.read_bytes())
    assert 'id="result"' in page
    assert sorted(e["worker_id"] for e in stored_events(site.app)) == sorted(
        w["id"] for w in workers
    )
    upload(client, saved.read_bytes())
    assert len(stored_events(site.app)) == 3

    site.server.start()
    tablet.page.click("#menu-close")
    tablet.wait_waiting(0, DRAIN_TIMEOUT)
    events = stored_events(site.app)
    assert sorted(e["id"] for e in events) == sorted(e["id"] for e in document["events"])

    open_menu(tablet)
    tablet.page.click("#unenrol-button")
    tablet.page.wait_for_selector("#unenrol-confirm:not([hidden])")
    with tablet.page.expect_navigation():
        tablet.page.click("#unenrol-confirm")
    tablet.page.wait_for_selector("body[data-ready='true']")
    assert tablet.page.is_visible("#enrol-view")
    assert tablet.page.is_hidden("#wiped-banner")


def test_wiped_storage_is_announced_on_the_next_start(site, open_tablet):
    tablet = enrolled(open_tablet, site)
    tablet.wait_waiting(0, 15)
    site.server.kill()
    for worker in site.world.workers[:2]:
        tablet.scan(f"GL1:W:{worker['badge']}")
    tablet.wait_waiting(2, 10)
    tablet.page.wait_for_function(
        "() => JSON.parse(localStorage.getItem('gatelog.enrolment') || '{}').waiting === 2"
    )
    # What clearing the site's IndexedDB (or a corrupted database) leaves behind.
    tablet.page.evaluate(
        """() => new Promise((resolve, reject) => {
            const request = indexedDB.deleteDatabase('gatelog');
            request.onsuccess = resolve;
            request.onerror = () => reject(request.error);
        })"""
    )
    tablet.reload()
    banner = tablet.page.locator("#wiped-banner")
    assert banner.is_visible()
    assert "2 lượt" in banner.inner_text()
    assert tablet.page.is_visible("#enrol-view")
    tablet.screenshot("21-storage-wiped")

    tablet.page.click("#lang-button")
    assert "storage was wiped" in banner.inner_text()
    tablet.page.click("#wiped-dismiss")
    tablet.reload()
    assert tablet.page.is_hidden("#wiped-banner")
