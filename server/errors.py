"""Error answers: JSON for the device API, a page for people; never a stack trace."""

from __future__ import annotations

import logging

import redis
from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, InternalServerError

from server.extensions import db, login_manager

log = logging.getLogger(__name__)

# English and Vietnamese side by side in API bodies: tablets may show either to a guard.
API_MESSAGES = {
    400: ("Bad request.", "Yêu cầu không hợp lệ."),
    401: ("Authentication required.", "Cần xác thực."),
    403: ("Not allowed.", "Không được phép."),
    404: ("Not found.", "Không tìm thấy."),
    405: ("Method not allowed.", "Phương thức không được hỗ trợ."),
    413: ("Request too large.", "Yêu cầu quá lớn."),
    415: ("Unsupported media type.", "Kiểu dữ liệu không được hỗ trợ."),
    429: ("Too many requests, retry later.", "Quá nhiều yêu cầu, hãy thử lại sau."),
    500: ("Server error, retry later.", "Lỗi máy chủ, hãy thử lại sau."),
    503: ("Service unavailable, retry later.", "Dịch vụ tạm thời không sẵn sàng, hãy thử lại sau."),
}


def api_error(status: int, code: str, message: str, message_vi: str, **details: object):
    """The device API's error body, one shape for every error."""
    body: dict[str, object] = {"code": code, "message": message, "message_vi": message_vi}
    if details:
        body["details"] = details
    return jsonify(error=body), status


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def _page_title(status: int) -> str:
    titles = {
        400: _("The request could not be understood."),
        403: _("You do not have access to this page."),
        404: _("This page does not exist or is not yours to see."),
        405: _("This action is not allowed here."),
        413: _("The upload is too large."),
        429: _("Too many attempts. Please wait a minute and try again."),
        500: _("Something went wrong on our side. Please try again."),
    }
    return titles.get(status, titles[500])


def handle_http_error(error: HTTPException):
    status = error.code or 500
    if _wants_json():
        english, vietnamese = API_MESSAGES.get(status, API_MESSAGES[500])
        response, status = api_error(
            status, error.name.lower().replace(" ", "_"), english, vietnamese
        )
        retry_after = error.get_response().headers.get("Retry-After")
        if status in (429, 503):
            response.headers["Retry-After"] = retry_after or "30"
    else:
        page = render_template("error.html", status=status, message=_page_title(status))
        response = make_response(page, status)
    # A 405 names the methods the URL takes (RFC 9110), in one order whatever the process: the
    # router collects them in a set.
    allow = error.get_response().headers.get("Allow")
    if allow:
        response.headers["Allow"] = ", ".join(sorted(allow.split(", ")))
    return response, status


def handle_csrf_error(error: CSRFError):
    message = _("The form expired or was sent twice. Please reload the page and try again.")
    return render_template("error.html", status=400, message=message), 400


def handle_unexpected(error: Exception):
    log.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_error(InternalServerError())


# A locked or unreachable database, or an unreachable rate-limit store: a reason to come back
# later, not a server fault. The request's transaction was rolled back, so nothing was written;
# a tablet keeps its events. One handler answers them for the API and the pages alike.
UNAVAILABLE_RETRY_AFTER_SECONDS = 5
UNAVAILABLE = (
    OperationalError,
    PoolTimeoutError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
)


def handle_unavailable(error: Exception):
    log.warning("unavailable on %s %s: %s", request.method, request.path, error)
    db.session.rollback()
    if _wants_json():
        response, status = api_error(503, "unavailable", *API_MESSAGES[503])
        response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
        return response, status
    # Loading the signed-in user needs the database (the language is theirs): the answer is
    # made as for a visitor.
    login_manager._update_request_context_with_user()
    message = _(
        "The server cannot reach its database just now. Nothing was saved: "
        "please try again in a minute."
    )
    if request.is_json:
        # A page's own script (the self check-in) reads an error's code and words, as JSON.
        response = make_response(jsonify(error={"code": "unavailable", "message": message}), 503)
    else:
        response = make_response(render_template("error.html", status=503, message=message), 503)
    response.headers["Retry-After"] = str(UNAVAILABLE_RETRY_AFTER_SECONDS)
    return response


def register(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    for unavailable in UNAVAILABLE:
        app.register_error_handler(unavailable, handle_unavailable)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
