"""Serves the gate app (pwa/) from the site root, so its service worker may control "/"."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, abort, current_app, send_from_directory
from flask.blueprints import BlueprintSetupState

PWA_DIR = Path(__file__).resolve().parent.parent / "pwa"
# Only these folders of pwa/ are public: package.json, node_modules and the notes are not.
ASSET_DIRS = frozenset({"css", "js", "icons", "vendor"})
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webmanifest": "application/manifest+json; charset=utf-8",
    ".html": "text/html; charset=utf-8",
}

bp = Blueprint("pwa", __name__)


@bp.record_once
def _default_root(state: BlueprintSetupState) -> None:
    # A setting rather than a constant so the browser tests can deploy a new app version.
    state.app.config.setdefault("PWA_ROOT", str(PWA_DIR))


def _serve(relative: str) -> Response:
    """One file of pwa/, revalidated on every load: the service worker does the offline caching."""
    root = Path(current_app.config["PWA_ROOT"])
    content_type = CONTENT_TYPES.get(Path(relative).suffix)
    if content_type is None:
        abort(404)
    response = send_from_directory(root, relative, max_age=0)
    response.headers["Content-Type"] = content_type
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/")
def index() -> Response:
    """The app shell."""
    return _serve("index.html")


@bp.get("/sw.js")
def service_worker() -> Response:
    """The service worker, allowed to control the whole site but never cached by HTTP."""
    response = _serve("sw.js")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache, no-store, must-revalidate"
    return response


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    """The web app manifest (installable app)."""
    return _serve("manifest.webmanifest")


@bp.get("/app/<path:filename>")
def asset(filename: str) -> Response:
    """Scripts, styles, icons and vendored libraries."""
    if filename.split("/", 1)[0] not in ASSET_DIRS:
        abort(404)
    return _serve(filename)
