"""The gate app as the server ships it: routes, headers, precache list, versions, words."""

from __future__ import annotations

import hashlib
import json
import re

import pytest
from flask import Flask

from server import create_app
from server.settings import Settings
from tests.e2e.harness import PWA_DIR, VERSION_FILES, app_version

PRECACHED_DIRS = ("css", "js", "icons", "vendor")
SERVED_SUFFIXES = (".js", ".css", ".svg", ".png")


@pytest.fixture(scope="module")
def pwa_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """An app that is never asked for the database: these routes only serve files."""
    url = f"sqlite:///{tmp_path_factory.mktemp('pwa') / 'unused.sqlite3'}"
    return create_app(Settings(secret_key="pwa-files", database_url=url, testing=True))


def precache_list() -> list[str]:
    source = (PWA_DIR / "sw.js").read_text(encoding="utf-8")
    block = source[
        source.index("const PRECACHE = [") : source.index("];", source.index("const PRECACHE"))
    ]
    return [
        "/" if entry == "SHELL" else entry.strip("'")
        for entry in re.findall(r"'[^']+'|SHELL", block)
    ]


def shipped_files() -> set[str]:
    return {
        f"/app/{path.relative_to(PWA_DIR).as_posix()}"
        for folder in PRECACHED_DIRS
        for path in (PWA_DIR / folder).rglob("*")
        if path.suffix in SERVED_SUFFIXES
    }


def test_service_worker_precaches_exactly_the_shipped_files():
    assert set(precache_list()) == shipped_files() | {"/", "/manifest.webmanifest"}


def test_every_precached_file_is_served_with_its_type_and_revalidated(pwa_app):
    client = pwa_app.test_client()
    for url in precache_list():
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-cache", url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
    assert client.get("/app/js/main.js").content_type == "text/javascript; charset=utf-8"
    manifest = client.get("/manifest.webmanifest")
    assert manifest.content_type.startswith("application/manifest+json")
    assert json.loads(manifest.data)["start_url"] == "/"


def test_service_worker_may_control_the_site_and_is_never_cached(pwa_app):
    response = pwa_app.test_client().get("/sw.js")
    assert response.status_code == 200
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.content_type.startswith("text/javascript")


@pytest.mark.parametrize(
    "url",
    [
        "/app/package.json",
        "/app/README.md",
        "/app/icons/make_icons.py",
        "/app/../server/pwa.py",
        "/app/node_modules/jsqr/package.json",
        "/app/js/missing.js",
        "/index.html",
    ],
)
def test_files_outside_the_app_are_not_served(pwa_app, url):
    assert pwa_app.test_client().get(url).status_code == 404


def test_app_version_is_the_same_everywhere():
    versions = {relative: app_version(PWA_DIR, relative) for relative in VERSION_FILES}
    assert len(set(versions.values())) == 1, versions


def test_vendored_jsqr_is_the_pinned_package_unchanged():
    lock = json.loads((PWA_DIR / "package-lock.json").read_text(encoding="utf-8"))
    pinned = lock["packages"]["node_modules/jsqr"]["version"]
    assert json.loads((PWA_DIR / "package.json").read_text())["dependencies"]["jsqr"] == pinned
    digest = hashlib.sha256((PWA_DIR / "vendor" / "jsQR.js").read_bytes()).hexdigest()
    notes = (PWA_DIR / "README.md").read_text(encoding="utf-8")
    assert f"jsqr {pinned}" in notes
    assert digest in notes


def dictionary(source: str, name: str) -> dict[str, str]:
    block = source[
        source.index(f"const {name} = {{") : source.index("};", source.index(f"const {name} = {{"))
    ]
    return dict(re.findall(r"^\s+(\w+): '((?:[^'\\]|\\.)*)',$", block, re.MULTILINE))


def test_every_word_the_app_uses_exists_in_vietnamese_and_english():
    i18n = (PWA_DIR / "js" / "i18n.js").read_text(encoding="utf-8")
    vi, en = dictionary(i18n, "VI"), dictionary(i18n, "EN")
    assert vi.keys() == en.keys()
    used = set()
    for path in [*PWA_DIR.glob("js/**/*.js"), PWA_DIR / "index.html"]:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"\bt\('(\w+)'", text))
        used |= set(re.findall(r'data-i18n(?:-placeholder)?="(\w+)"', text))
    # Keys chosen at run time (directions, statuses, warnings) are named here.
    used |= {"in", "out", "dir_in", "dir_out", "status_waiting", "status_sent", "status_rejected"}
    used |= {"unknown_badge", "warn_worker_inactive", "warn_pass_expired", "visitor_recorded"}
    used |= {"enrol_code_scanned", "poster_code", "not_a_badge", "device_revoked", "unauthorized"}
    assert used - vi.keys() == set()
