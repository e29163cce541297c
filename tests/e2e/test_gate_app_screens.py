"""Every screen of the gate app at both tablet sizes: every tap target at least 48 px high and
wide (Android's 48 dp), and a screenshot of each state in test-artifacts/screenshots/."""

from __future__ import annotations

from tests.e2e.harness import enrolment_code
from tests.e2e.test_gate_app import DRAIN_TIMEOUT

SIZES = {"portrait": {"width": 800, "height": 1280}, "landscape": {"width": 1280, "height": 800}}
MIN_TARGET_PX = 48

# Every visible control a finger can hit, with its size; controls inside a closed dialog or a
# hidden section have no box and are skipped.
SMALL_TARGETS = """(minimum) => [...document.querySelectorAll(
        'button, input:not([type=hidden]), select, textarea, a[href], [role=button]')]
    .filter((node) => node.getClientRects().length > 0)
    .map((node) => {
        const box = node.getBoundingClientRect();
        const name = node.id || node.name || node.textContent.trim().slice(0, 40);
        return {name, width: Math.round(box.width), height: Math.round(box.height)};
    })
    .filter((target) => target.width < minimum || target.height < minimum)"""


class Screens:
    """Visits states; at each, both sizes are measured and photographed."""

    def __init__(self, tablet) -> None:
        self.tablet = tablet
        self.small: dict[str, list[dict]] = {}

    def check(self, state: str) -> None:
        page = self.tablet.page
        for size_name, size in SIZES.items():
            page.set_viewport_size(size)
            page.evaluate("new Promise((done) => requestAnimationFrame(() => done()))")
            found = page.evaluate(SMALL_TARGETS, MIN_TARGET_PX)
            if found:
                self.small[f"{state} ({size_name})"] = found
            self.tablet.screenshot(f"screen-{state}-{size_name}")
        page.set_viewport_size(SIZES["landscape"])


def test_every_tap_target_of_every_screen_is_at_least_48_px(site, open_tablet):
    world = site.world
    tablet = open_tablet(site.server.url)
    screens = Screens(tablet)
    screens.check("enrol")
    tablet.page.fill("#enrol-code", enrolment_code(site.app, world.gates[0]["id"]))
    tablet.page.click("#enrol-form button[type=submit]")
    tablet.page.wait_for_selector("#gate-dialog[open]")
    screens.check("gate-picker")
    tablet.page.click(f"#gate-list button:has-text('{world.gates[0]['name']}')")
    tablet.wait_for_roster(len(world.workers))
    tablet.wait_waiting(0, DRAIN_TIMEOUT)

    # A record the server refuses, so "needs attention" has a row with its button.
    tablet.page.evaluate(
        """async (gateId) => {
            const outbox = await import('/app/js/outbox.js');
            await outbox.capture({gateId, direction: 'in', method: 'manual',
                subject: {kind: 'text', value: 'Người lạ'}, subjectKey: 't:nguoi la',
                display: {name: 'Người lạ'}});
        }""",
        world.other_gate_id,
    )
    tablet.scan(f"GL1:W:{world.workers[0]['badge']}")
    tablet.page.fill("#search", "nguyen")
    tablet.page.wait_for_selector("#results li.result")
    screens.check("gate-scanned-and-search")
    tablet.page.fill("#search", "")
    tablet.page.wait_for_selector("#st-attention:not([hidden])", timeout=DRAIN_TIMEOUT * 1000)
    tablet.page.click("#st-attention")
    tablet.page.wait_for_selector("#attention-list li.attention")
    screens.check("needs-attention")

    tablet.page.click("#visitor-button")
    tablet.page.wait_for_selector("#visitor-dialog[open]")
    screens.check("visitor-dialog")
    tablet.page.click("#visitor-cancel")
    # A chip ID card read by the scanner: the dialog says so, and VÀO/RA stay on screen.
    tablet.page.evaluate(
        """(text) => {
            for (const key of [...text, 'Enter']) {
                document.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
            }
        }""",
        "001099012345|123456789|Lò Văn Căn|01011990|Nam|Lai Châu|01012021",
    )
    tablet.page.wait_for_selector("#visitor-dialog[open] #visitor-card:not([hidden])")
    assert "căn cước" in tablet.page.inner_text("#visitor-title")
    screens.check("visitor-dialog-id-card")
    for size in SIZES.values():
        tablet.page.set_viewport_size(size)
        box = tablet.page.locator("#visitor-form button[value=in]").bounding_box()
        assert box is not None
        assert box["y"] + box["height"] <= size["height"]
    tablet.page.click("#visitor-cancel")
    tablet.page.click("#menu-button")
    tablet.page.wait_for_selector("#menu-dialog[open]")
    screens.check("tablet-menu")
    tablet.page.click("#menu-close")

    tablet.page.click("#rollcall-button")
    tablet.page.wait_for_selector("#rollcall-view:not([hidden]) .rc-person")
    screens.check("roll-call")

    assert screens.small == {}
