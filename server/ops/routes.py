"""Probes and metrics for the machines that watch the server: no session, no personal data."""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Response, abort, current_app, jsonify, request

from server.admin.config import effective
from server.extensions import db, limiter
from server.models.types import utcnow
from server.ops import metrics, readiness

bp = Blueprint("ops", __name__)
# A probe that is rate limited would call a healthy server dead.
limiter.exempt(bp)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    settings = current_app.config["GATELOG"]
    checks = readiness.check_database(db.engine, current_app.extensions["migrate"].directory)
    checks |= readiness.check_redis(settings.ratelimit_storage_uri)
    ready = all(value == readiness.OK for value in checks.values())
    response = jsonify(status="ready" if ready else "not_ready", checks=checks)
    if not ready:
        response.headers["Retry-After"] = "10"
    return response, 200 if ready else 503


def _may_scrape() -> bool:
    token = current_app.config["GATELOG"].metrics_token
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)
    # Without a token only the host itself may scrape; a request relayed by a reverse proxy on
    # the same host comes from loopback too, so a forwarded one is refused.
    if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.get("/metrics")
def scrape() -> Response:
    if not _may_scrape():
        abort(403)
    gauges = metrics.DatabaseGauges(db.session, utcnow(), effective(current_app.config["GATELOG"]))
    body = metrics.exposition(gauges)
    return Response(body, mimetype="text/plain; version=0.0.4; charset=utf-8")
