"""Background Sync: with no page of the app open, the service worker's `sync` event empties the
outbox. Chromium retries a failed sync only minutes later, so the test fires the event through
the DevTools protocol, as the browser would when the link comes back."""

from __future__ import annotations

from tests.e2e.harness import stored_events, wait_until
from tests.e2e.test_gate_app import DRAIN_TIMEOUT, scanned_offline

TAG = "gatelog-push"


def pending_sync_tags(page) -> list[str]:
    return page.evaluate("async () => (await navigator.serviceWorker.ready).sync.getTags()")


def test_the_service_worker_drains_the_outbox_with_the_app_closed(site, open_tablet):
    workers = site.world.workers[:3]
    tablet = scanned_offline(open_tablet, site, workers)
    # A push that failed left a sync registration for the browser to retry.
    wait_until(lambda: TAG in pending_sync_tags(tablet.page), 15, "a pending background sync")

    # Leave the app: no page of its origin is open to push, only the service worker is left.
    tablet.page.goto("about:blank")
    site.server.start()
    session = tablet.context.new_cdp_session(tablet.page)
    registrations: list[dict] = []
    session.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    session.send("ServiceWorker.enable")

    def registered() -> list[dict]:
        # Playwright's sync API delivers protocol events only while it is called.
        tablet.page.wait_for_timeout(100)
        return registrations

    wait_until(registered, 10, "the service worker registration")
    registration = next(r for r in registrations if r["scopeURL"].startswith(site.server.url))
    assert stored_events(site.app) == []
    session.send(
        "ServiceWorker.dispatchSyncEvent",
        {
            "origin": site.server.url,
            "registrationId": registration["registrationId"],
            "tag": TAG,
            "lastChance": False,
        },
    )

    wait_until(lambda: len(stored_events(site.app)) == 3, DRAIN_TIMEOUT, "the events were stored")
    assert sorted(e["worker_id"] for e in stored_events(site.app)) == sorted(
        w["id"] for w in workers
    )
    # Back in the app, nothing waits and nothing is sent twice.
    tablet.load()
    tablet.wait_waiting(0, 15)
    assert len(stored_events(site.app)) == 3
