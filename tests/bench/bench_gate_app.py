"""Gate app benchmark: a real Chromium tablet against gunicorn on loopback, 50,000 workers.

Prints (asserts nothing): the initial roster pull, search p95, scan-to-feedback p95,
capture-to-durable p95, and the
time to drain a 10,000-event outbox once the server is back. The machine is shared: run it on
a quiet one before reading much into a figure.
Run: `.venv/bin/python tests/bench/bench_gate_app.py`.
TEST_DATABASE_URL picks PostgreSQL (a `<name>_e2e` database beside it); SQLite otherwise.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, update  # noqa: E402 - after the path set-up above

from tests.e2e.harness import (  # noqa: E402
    DEPARTMENTS,
    LiveServer,
    Tablet,
    chromium_path,
    copy_pwa,
    e2e_database,
    enrolment_code,
    make_app,
    reset_schema,
    vietnamese_name,
)

WORKERS = 50_000
OUTBOX = 10_000
CAPTURES = 300
TARGETS = {
    "roster": "<= 5 s",
    "search": "<= 30 ms",
    "feedback": "<= 100 ms",
    "capture": "<= 50 ms",
    "drain": "<= 5 s",
}

SEARCH_JS = """async (queries) => {
    const { Roster } = await import('/app/js/roster.js');
    const roster = new Roster();
    await roster.load();
    const times = [];
    let found = 0;
    for (const query of queries) {
        const start = performance.now();
        found += roster.search(query).length;
        times.push(performance.now() - start);
    }
    return { times, found, size: roster.size };
}"""

CAPTURE_JS = """async ([gateId, count]) => {
    const outbox = await import('/app/js/outbox.js');
    const times = [];
    for (let i = 0; i < count; i += 1) {
        const start = performance.now();
        await outbox.capture({ gateId, direction: 'in', method: 'manual',
            subject: { kind: 'worker', value: String(i + 1) }, subjectKey: `w:${i + 1}`,
            display: { name: `bench ${i}` } });
        times.push(performance.now() - start);
    }
    return times;
}"""

# Keys as a handheld scanner sends them, timed until the card shows who it is.
SCAN_JS = """async (badges) => {
    document.activeElement && document.activeElement.blur();
    const card = document.querySelector('#feedback');
    const times = [];
    for (const badge of badges) {
        card.dataset.state = '';
        const shown = new Promise((resolve) => {
            const observer = new MutationObserver(() => {
                if (card.dataset.state) {
                    observer.disconnect();
                    resolve(performance.now());
                }
            });
            observer.observe(card, { attributes: true });
        });
        const start = performance.now();
        for (const key of [...`GL1:W:${badge}`, 'Enter']) {
            document.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
        }
        times.push((await shown) - start);
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return times;
}"""

# The outbox filled in one transaction, as hours offline at a busy gate would leave it.
FILL_JS = """async ([gateId, count]) => {
    const { STORES, req, run } = await import('/app/js/db.js');
    const { isoWithOffset } = await import('/app/js/time.js');
    await run([STORES.outbox, STORES.meta], 'readwrite', async (tx) => {
        const meta = tx.objectStore(STORES.meta);
        const last = (await req(meta.get('seq')))?.value ?? 0;
        for (let i = 1; i <= count; i += 1) {
            tx.objectStore(STORES.outbox).put({ id: crypto.randomUUID(), seq: last + i,
                occurred_at: isoWithOffset(new Date(Date.now() - (count - i) * 1000)),
                gate_id: gateId, direction: i % 2 ? 'in' : 'out', method: 'scanner',
                subject: { kind: 'worker', value: String(i % 5000 + 1) } });
        }
        meta.put({ key: 'seq', value: last + count });
    }, { durability: 'strict' });
}"""

DRAIN_JS = """async () => {
    const { drain } = await import('/app/js/sync.js');
    const { summary } = await import('/app/js/outbox.js');
    const start = performance.now();
    await drain();
    return { ms: performance.now() - start, left: (await summary()).waiting };
}"""


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def badge_token(n: int) -> str:
    """A distinct 20-letter base32 token per worker."""
    return f"{n:020d}".translate(str.maketrans("0123456789", "ABCDEFGHIJ"))


def seed(app) -> int:
    """An enterprise with one gate and WORKERS workers, inserted in bulk; returns the gate id."""
    from server.extensions import db
    from server.models import Enterprise, Worker
    from server.text import fold
    from tests.factories import make_enterprise, make_gate

    with app.app_context():
        enterprise = make_enterprise(name="Công ty Benchmark")
        gate = make_gate(enterprise, code="G1", name="Cổng chính")
        rows = []
        for n in range(WORKERS):
            name = vietnamese_name(n % 576) + f" {n // 576 + 1}"
            rows.append(
                {
                    "enterprise_id": enterprise.id,
                    "employee_code": f"NV{n + 1:06d}",
                    "full_name": name,
                    "search_name": fold(name),
                    "phone": f"09{n + 1:08d}",
                    "department": DEPARTMENTS[n % len(DEPARTMENTS)],
                    "badge_token": badge_token(n),
                    "active": True,
                    "roster_version": n + 1,
                }
            )
        for start in range(0, WORKERS, 5000):
            db.session.execute(insert(Worker), rows[start : start + 5000])
        db.session.execute(
            update(Enterprise).where(Enterprise.id == enterprise.id).values(roster_version=WORKERS)
        )
        db.session.commit()
        gate_id = gate.id
        db.session.remove()
    return gate_id


def main() -> None:
    if chromium_path() is None:
        print("NO CHROMIUM at CHROMIUM_PATH or /usr/bin/chromium: gate app benchmark not run.")
        return

    tmp = Path(tempfile.mkdtemp(prefix="bench-gate-app-"))
    with e2e_database(tmp) as url:
        run(tmp, url)


def run(tmp: Path, url: str) -> None:
    """Seed, serve, and measure one tablet."""
    from playwright.sync_api import sync_playwright

    app = make_app(url)
    reset_schema(app)
    started = time.perf_counter()
    gate_id = seed(app)
    print(
        f"seeded {WORKERS} workers in {time.perf_counter() - started:.1f} s ({url.split(':')[0]})"
    )
    server = LiveServer(url, copy_pwa(tmp / "pwa"), tmp / "server.log")
    server.start()
    try:
        with sync_playwright() as playwright:
            tablet = Tablet(playwright, tmp / "profile", server.url).open()
            tablet.wait_for_service_worker()
            tablet.page.fill("#enrol-code", enrolment_code(app, gate_id))
            started = time.perf_counter()
            tablet.page.click("#enrol-form button[type=submit]")
            tablet.wait_for_roster(WORKERS)
            roster_s = time.perf_counter() - started
            report("initial roster pull (enrol to searchable)", f"{roster_s:.2f} s", "roster")

            queries = ["nguyen van an", "tran thi", "dang", "le duc cuong 7", "pham", "hoang minh"]
            queries += [f"nv{n:06d}" for n in range(1, WORKERS, 997)]
            queries += [f"{n:04d}" for n in range(13, 10000, 211)]
            queries += ["n", "ng", "ngu", "nguy", "nguye", "nguyen", "nguyen v", "nguyen va"]
            result = tablet.page.evaluate(SEARCH_JS, queries)
            slowest = max(zip(result["times"], queries, strict=True))
            report(
                f"search p95 over {len(queries)} queries, {result['size']} people",
                f"{p95(result['times']):.1f} ms (max {slowest[0]:.1f} ms {slowest[1]!r})",
                "search",
            )

            # Offline from here on: captures and the backlog pile up in the outbox.
            server.kill()
            times = tablet.page.evaluate(SCAN_JS, [badge_token(n) for n in range(0, WORKERS, 1001)])
            report(
                f"scanner keys to feedback card p95 over {len(times)} scans",
                f"{p95(times):.1f} ms (median {statistics.median(times):.1f} ms)",
                "feedback",
            )
            times = tablet.page.evaluate(CAPTURE_JS, [gate_id, CAPTURES])
            report(
                f"capture to durable p95 over {CAPTURES} captures",
                f"{p95(times):.1f} ms (median {statistics.median(times):.1f} ms)",
                "capture",
            )

            tablet.page.evaluate(FILL_JS, [gate_id, OUTBOX])
            server.start()
            drained = tablet.page.evaluate(DRAIN_JS)
            report(
                f"drain {OUTBOX + CAPTURES} waiting events (left: {drained['left']})",
                f"{drained['ms'] / 1000:.2f} s",
                "drain",
            )
            tablet.close()
    finally:
        server.kill()
        from server.extensions import db

        with app.app_context():
            db.engine.dispose()


def report(what: str, figure: str, target: str) -> None:
    print(f"{what:<55} {figure:<32} target {TARGETS[target]}")


if __name__ == "__main__":
    main()
