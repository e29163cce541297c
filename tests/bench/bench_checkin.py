"""Self check-in page benchmark: what a phone downloads on its first visit, and how long it takes.

  a. transfer size of the first load (page, style, script, manifest), as served and gzip-compressed
     (as behind a compressing proxy); target: under 100 KB compressed;
  b. with Chromium present: the page served by gunicorn on 127.0.0.1 and loaded by a phone-sized
     Chromium over an emulated weak 3G link (400 kbit/s down, 400 ms round trip): the time until
     the page is ready to tap, and the bytes the browser received.

It prints figures and asserts nothing.
    .venv/bin/python tests/bench/bench_checkin.py
"""

from __future__ import annotations

import gzip
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a script (`make bench`), so the repository root is not on the path by itself.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flask import Flask

from server import create_app
from server.extensions import db
from server.settings import Settings
from tests.factories import make_enterprise, make_gate, make_poster, make_question, make_worker

QUESTIONS = 5
LOADS = 5
WEAK_3G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 400_000 / 8,
    "uploadThroughput": 200_000 / 8,
}


def seed(app: Flask) -> str:
    """An enterprise with a poster and a declaration of QUESTIONS questions; the poster's token."""
    with app.app_context():
        db.create_all()
        enterprise = make_enterprise(name="Công ty TNHH May mặc Hòa Phát")
        gate = make_gate(enterprise, name="Cổng chính")
        poster = make_poster(enterprise=enterprise, gate=gate, label="Cửa nhà ăn")
        make_worker(enterprise, employee_code="NV00001", phone="0912000001")
        for n in range(QUESTIONS):
            make_question(
                enterprise=enterprise,
                text_vi=f"Câu hỏi số {n + 1}: bạn có triệu chứng sốt, ho, khó thở không?",
                text_en=f"Question {n + 1}: do you have a fever, a cough or short breath?",
                position=n,
            )
        token = poster.token
        db.session.remove()
    return token


def first_load_sizes(app: Flask, token: str) -> None:
    client = app.test_client()
    page = client.get(f"/c/{token}")
    html = page.get_data(as_text=True)
    urls = re.findall(r'(?:href|src)="(/c/[^"]+)"', html)
    rows = [(f"/c/{token}", page.data)]
    rows += [
        (url.replace("&amp;", "&"), client.get(url.replace("&amp;", "&")).data) for url in urls
    ]
    print(f"a. first load of the self check-in page ({QUESTIONS} declaration questions)")
    print(f"   {'resource':<44} {'served':>9} {'gzip':>9}")
    total_raw = total_gzip = 0
    for url, body in rows:
        packed = len(gzip.compress(body, compresslevel=6))
        total_raw += len(body)
        total_gzip += packed
        shown = url if len(url) < 44 else url[:41] + "..."
        print(f"   {shown:<44} {len(body):>8,d}B {packed:>8,d}B")
    print(
        f"   {'total (' + str(len(rows)) + ' requests)':<44} {total_raw:>8,d}B {total_gzip:>8,d}B"
    )
    print(f"   compressed: {total_gzip / 1024:.1f} KB (target < 100 KB); no QR library is loaded")


def browser_load(database_url: str, token: str, workdir: Path) -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.harness import CHROMIUM_FLAGS, PWA_DIR, LiveServer, chromium_path

    if chromium_path() is None:
        print("b. skipped: no Chromium at CHROMIUM_PATH or /usr/bin/chromium")
        return
    server = LiveServer(database_url, PWA_DIR, workdir / "server.log")
    server.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
            )
            timings, received = [], []
            for _ in range(LOADS):
                context = browser.new_context(
                    viewport={"width": 390, "height": 844}, is_mobile=True
                )
                page = context.new_page()
                cdp = context.new_cdp_session(page)
                cdp.send("Network.enable")
                cdp.send("Network.emulateNetworkConditions", WEAK_3G)
                sizes: dict[str, float] = {}
                cdp.on(
                    "Network.loadingFinished",
                    lambda event, sizes=sizes: sizes.__setitem__(
                        event["requestId"], event["encodedDataLength"]
                    ),
                )
                started = time.perf_counter()
                page.goto(f"{server.url}/c/{token}")
                page.wait_for_selector("body[data-ready='true']")
                timings.append(time.perf_counter() - started)
                page.wait_for_load_state("networkidle")
                received.append(sum(sizes.values()))
                context.close()
            browser.close()
    finally:
        server.kill()
    print("b. phone-sized Chromium, weak 3G (400 kbit/s, 400 ms RTT), cold cache, no gzip")
    print(
        f"   ready to tap: median {statistics.median(timings):.2f} s,"
        f" max {max(timings):.2f} s ({LOADS} loads)"
    )
    print(
        f"   bytes received (headers included): median {statistics.median(received) / 1024:.1f} KB"
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        database_url = f"sqlite:///{workdir / 'bench.sqlite3'}"
        app = create_app(Settings(secret_key="bench", database_url=database_url, testing=True))
        token = seed(app)
        first_load_sizes(app, token)
        with app.app_context():
            db.engine.dispose()
        browser_load(database_url, token, workdir)


if __name__ == "__main__":
    main()
