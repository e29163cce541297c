"""One JSON line per request, with a request id the answer and the error pages repeat.

The line names the route pattern, never the path or the query string: those can carry a name
typed into a search box or a poster token. The device id is logged for API calls; the bearer
token, cookies and form fields never are.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from datetime import UTC, datetime
from time import perf_counter

from flask import Flask, Response, g, request

from server.ops import metrics

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's id is kept when it looks like one (Caddy and nginx send hex or UUIDs); anything else
# is replaced, so a client cannot write arbitrary text into the log.
_FORWARDED_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")

log = logging.getLogger("gatelog.request")


def request_id() -> str:
    """This request's id, made on first use (a hook before ours may have answered already)."""
    if "request_id" not in g:
        forwarded = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = forwarded if _FORWARDED_ID.fullmatch(forwarded) else uuid.uuid4().hex
    return str(g.request_id)


def _start() -> None:
    g.request_started = perf_counter()
    request_id()


def _finish(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id()
    seconds = perf_counter() - g.get("request_started", perf_counter())
    endpoint = request.endpoint or "unmatched"
    metrics.observe_request(endpoint, request.method, response.status_code, seconds)
    line = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "level": "error" if response.status_code >= 500 else "info",
        "event": "request",
        "request_id": request_id(),
        "method": request.method,
        "route": request.url_rule.rule if request.url_rule else None,
        "endpoint": endpoint,
        "status": response.status_code,
        "duration_ms": round(seconds * 1000, 2),
        "bytes": response.content_length,
        "device_id": g.get("device_id"),
    }
    log.info(json.dumps(line, ensure_ascii=False))
    return response


def configure_output(app: Flask) -> None:
    """Outside tests the lines go to stderr as they are (gunicorn and journald keep them)."""
    if app.testing or log.handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def register(app: Flask) -> None:
    # First of all hooks, so the clock starts before rate limits and logins are checked.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)
    app.after_request(_finish)
    app.jinja_env.globals["request_id"] = request_id
    configure_output(app)
