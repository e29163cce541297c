from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

from flask import (
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException, NotFound

from server import phones
from server.admin.config import effective, ingest_policy
from server.checkin import bp, screen, services
from server.checkin.schemas import CheckinSchema, IdentitySchema
from server.errors import handle_http_error
from server.extensions import limiter
from server.models.checkin import GatePoster
from server.models.types import utcnow
from server.qr import qr_svg
from server.settings import Settings

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Each phone and each address gets its own budget, shared by all self check-in calls; the
# limiter's storage comes from settings (RATELIMIT_STORAGE_URI), so gunicorn workers share it.
# A whole shift may come through one factory Wi-Fi address, hence the wide address budget.
PER_PHONE = "10 per minute"
PER_ADDRESS = "120 per minute"
PAGE_PER_ADDRESS = "240 per minute"
ASSET_MAX_AGE = 365 * 24 * 3600
# The largest honest body (a visitor with 30 long answers) is under 16 KiB.
MAX_BODY_BYTES = 64 * 1024

_identity_schema = IdentitySchema()
_checkin_schema = CheckinSchema()


def _asset_version() -> str:
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


ASSET_VERSION = _asset_version()


def _phone_of_request() -> str:
    """The rate-limit key of the phone number a body names (the address when it names none)."""
    body = request.get_json(silent=True)
    person: object = {}
    if isinstance(body, dict):
        person = body.get("worker") or body.get("visitor") or {}
    phone = person.get("phone") if isinstance(person, dict) else None
    key = phones.key(phone) if isinstance(phone, str) else ""
    return f"phone:{key}" if key else f"address:{get_remote_address()}"


per_phone = limiter.shared_limit(PER_PHONE, scope="checkin-phone", key_func=_phone_of_request)
per_address = limiter.shared_limit(PER_ADDRESS, scope="checkin-address")


def _json_error(status: int, code: str, message: str, **details: Any) -> tuple[Response, int]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    return jsonify(error=body), status


REFUSALS = {
    "wrong_pair": lambda: _("This employee code and phone number do not match our records."),
    "bad_time": lambda: _("Your phone's clock looks wrong. Please check the date and time."),
    "too_old": lambda: _("This check-in waited too long on the phone and was not recorded."),
    "unknown_question": lambda: _("The declaration has changed. Please reload the page."),
    "bad_answer": lambda: _("Please answer every yes/no question with yes or no."),
    "declaration_missing": lambda: _("Please answer the health declaration before entering."),
    "not_at_gate": lambda: _(
        "This code has changed. Scan the code on the screen at the gate again."
    ),
}


def _poster_or_404(poster_token: str) -> GatePoster:
    poster = services.poster_for_token(poster_token)
    if poster is None:
        raise NotFound()
    return poster


@bp.before_request
def _limit_body() -> None:
    request.max_content_length = MAX_BODY_BYTES


@bp.errorhandler(HTTPException)
def _error(error: HTTPException):
    """JSON for the page's calls; the invalid-code page or the usual error page otherwise."""
    status = error.code or 500
    invalid = _(
        "This code is no longer valid. Use the code posted at the gate now, or ask the guard."
    )
    if request.method == "POST":
        if status == 404:
            return _json_error(404, "invalid_poster", invalid)
        if status == 429:
            message = _("Too many attempts. Please wait a minute and try again.")
            response, status = _json_error(429, "rate_limited", message)
            response.headers["Retry-After"] = error.get_response().headers.get("Retry-After", "60")
            return response, status
        message = (
            _("The upload is too large.")
            if status == 413
            else _("The request could not be understood.")
        )
        return _json_error(status, error.name.lower().replace(" ", "_"), message)
    if status == 404 and request.endpoint == "checkin.page":
        return render_template("checkin/invalid.html", message=invalid), 404
    return handle_http_error(error)


def _settings() -> Settings:
    return current_app.config["GATELOG"]


def _page_config(poster: GatePoster) -> dict[str, Any]:
    language = str(get_locale() or "vi")
    questions = services.active_questions(poster.enterprise_id)
    presence = screen.presence_pass(_settings().secret_key, poster) if poster.on_screen else None
    return {
        "lang": language,
        "enterprise": poster.enterprise_id,
        "presence": presence,
        "urls": {
            "identify": url_for("checkin.identify", poster_token=poster.token, lang=language),
            "checkins": url_for("checkin.checkins", poster_token=poster.token, lang=language),
        },
        "questions": [
            {
                "id": q.id,
                "kind": q.kind,
                "text": (q.text_en if language == "en" and q.text_en else q.text_vi),
            }
            for q in questions
        ],
        "messages": {
            "saving": _("Recording…"),
            "saved_in": _("Entry recorded"),
            "saved_out": _("Exit recorded"),
            "waiting": _(
                "No connection: %(count)s check-in(s) wait on this phone, to be sent later.",
                count="{n}",
            ),
            "conflict": _(
                "This check-in was already recorded differently; it is kept for HR to review."
            ),
            "offline_identify": _("No connection. Please try again when you have signal."),
            "failed": _("Not recorded"),
            "proposed_in": _("Proposed: entry"),
            "proposed_out": _("Proposed: exit"),
        },
    }


@bp.get("/c/<poster_token>")
@limiter.limit(PAGE_PER_ADDRESS)
def page(poster_token: str):
    """The self check-in page of one poster."""
    poster = _poster_or_404(poster_token)
    code = request.args.get("k")
    if poster.on_screen and not screen.code_is_current(
        _settings().secret_key, poster, code, utcnow()
    ):
        return render_template("checkin/invalid.html", message=REFUSALS["not_at_gate"]()), 403
    response = Response(
        render_template(
            "checkin/page.html",
            poster=poster,
            setup=_page_config(poster),
            asset_version=ASSET_VERSION,
        )
    )
    # The page is rendered per poster and language; a rotated poster must not live on in caches.
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/c/<poster_token>/manifest.webmanifest")
def manifest(poster_token: str):
    """Makes the page installable, opening on this poster."""
    poster = _poster_or_404(poster_token)
    start = url_for("checkin.page", poster_token=poster.token)
    body = {
        "name": f"{poster.gate.enterprise.name} · {poster.gate.name}",
        "short_name": _("Check-in"),
        "start_url": start,
        "scope": start,
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": "/app/icons/icon-192.png", "sizes": "192x192", "type": "image/png"},
            {"src": "/app/icons/icon-512.png", "sizes": "512x512", "type": "image/png"},
        ],
    }
    response = jsonify(body)
    response.headers["Content-Type"] = "application/manifest+json; charset=utf-8"
    return response


def _load(schema: Any) -> tuple[dict[str, Any] | None, Any]:
    raw = request.get_json(silent=True)
    try:
        return schema.load(raw if isinstance(raw, dict) else {}), raw
    except ValidationError as error:
        return None, error.messages


def _invalid(messages: Any) -> tuple[Response, int]:
    return _json_error(400, "invalid", _("Please check the highlighted fields."), fields=messages)


@bp.post("/c/<poster_token>/identify")
@per_address
@per_phone
def identify(poster_token: str):
    """Who the phone's holder is, and which direction to propose."""
    poster = _poster_or_404(poster_token)
    identity, raw = _load(_identity_schema)
    if identity is None:
        return _invalid(raw)
    settings = _settings()
    try:
        person, proposed = services.greet(
            poster,
            identity,
            secret=settings.secret_key,
            now=utcnow(),
            shift_hours=effective(settings).shift_hours,
        )
    except services.CheckinRefused as refusal:
        return _json_error(422, refusal.code, REFUSALS[refusal.code]())
    return jsonify(name=person.name, proposed=proposed)


@bp.post("/c/<poster_token>/checkins")
@per_address
@per_phone
def checkins(poster_token: str):
    """Record one check-in; resending the same id is safe."""
    poster = _poster_or_404(poster_token)
    checkin, raw = _load(_checkin_schema)
    if checkin is None:
        return _invalid(raw)
    settings = _settings()
    try:
        outcome = services.record_checkin(
            poster,
            checkin,
            raw,
            secret=settings.secret_key,
            now=utcnow(),
            policy=ingest_policy(effective(settings)),
        )
    except services.CheckinRefused as refusal:
        return _json_error(422, refusal.code, REFUSALS[refusal.code]())
    return jsonify(
        status=outcome.status, id=outcome.event_id, direction=outcome.direction, alert=outcome.alert
    )


@bp.get("/c/screen/<screen_key>")
@limiter.limit(PAGE_PER_ADDRESS)
def screen_page(screen_key: str):
    """The gate screen: the poster's code, changing every 30 seconds. Its key is HR's secret."""
    poster = services.poster_for_screen(screen_key)
    if poster is None:
        raise NotFound()
    return render_template(
        "checkin/screen.html",
        poster=poster,
        asset_version=ASSET_VERSION,
        window_seconds=screen.WINDOW_SECONDS,
    )


@bp.get("/c/screen/<screen_key>/qr.svg")
@limiter.limit(PAGE_PER_ADDRESS)
def screen_qr(screen_key: str):
    """The QR of this 30-second window; the header tells the screen when to fetch the next."""
    poster = services.poster_for_screen(screen_key)
    if poster is None:
        raise NotFound()
    now = utcnow()
    code = screen.code_for(_settings().secret_key, poster, screen.window_of(now))
    link = url_for("checkin.page", poster_token=poster.token, k=code, _external=True)
    response = Response(qr_svg(link), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "no-store"
    # Rounded up: "0.0" would tell the screen its window was over while the code still holds.
    response.headers["X-Seconds-Left"] = f"{math.ceil(screen.seconds_left(now) * 10) / 10:.1f}"
    return response


@bp.get("/c/sw.js")
def service_worker():
    """The check-in pages' own service worker; its scope /c/ leaves the gate app's "/" alone."""
    response = send_from_directory(STATIC_DIR, "sw.js", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/c/static/<path:filename>")
def asset(filename: str):
    """The page's script and style, cached for a year under their content version."""
    max_age = ASSET_MAX_AGE if request.args.get("v") == ASSET_VERSION else 0
    return send_from_directory(STATIC_DIR, filename, max_age=max_age)
