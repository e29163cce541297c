"""The device API's error answers: one JSON shape, English and Vietnamese side by side."""

from __future__ import annotations

from typing import Any

from flask import Response

from server.api.answers import json_response
from sync.schemas import MAX_BODY_BYTES, MAX_EVENTS, MAX_INFLATED_BYTES

# Every 413 of the device API carries the limits, so a client can size its next push.
LIMITS = {
    "max_events": MAX_EVENTS,
    "max_bytes": MAX_BODY_BYTES,
    "max_inflated_bytes": MAX_INFLATED_BYTES,
}

# code: (status, English, Vietnamese). Tablets show either language to a guard.
ERRORS: dict[str, tuple[int, str, str]] = {
    "invalid_json": (400, "The body is not valid JSON.", "Nội dung không phải JSON hợp lệ."),
    "invalid_gzip": (
        400,
        "The body is not valid gzip.",
        "Nội dung nén gzip không hợp lệ.",
    ),
    "validation_error": (
        400,
        "Some fields are missing or invalid; see details.",
        "Một số trường bị thiếu hoặc không hợp lệ; xem chi tiết.",
    ),
    "unauthorized": (
        401,
        "A valid device token is required.",
        "Cần mã xác thực hợp lệ của thiết bị.",
    ),
    "device_revoked": (
        401,
        "This device was revoked; enrol it again with a new code.",
        "Thiết bị này đã bị thu hồi; hãy đăng ký lại bằng mã mới.",
    ),
    "enrolment_code_invalid": (
        404,
        "The enrolment code is unknown, already used or expired.",
        "Mã đăng ký không đúng, đã được dùng hoặc đã hết hạn.",
    ),
    "unknown_tablet": (
        404,
        "The tablet named is not another tablet of this enterprise.",
        "Máy được nêu không phải một máy khác của doanh nghiệp này.",
    ),
    "payload_too_large": (
        413,
        "The request is too large; send fewer events per push.",
        "Yêu cầu quá lớn; hãy gửi ít sự kiện hơn mỗi lần.",
    ),
    "unsupported_media_type": (
        415,
        "Send JSON (Content-Type: application/json), plain or gzip.",
        "Hãy gửi JSON (Content-Type: application/json), dạng thường hoặc nén gzip.",
    ),
    "rate_limited": (
        429,
        "Too many requests; retry after the time given.",
        "Quá nhiều yêu cầu; hãy thử lại sau khoảng thời gian đã nêu.",
    ),
}

RETRY_AFTER_SECONDS = {"rate_limited": 60}


class ApiError(Exception):
    """Stop the request with one of ERRORS; nothing was written."""

    def __init__(self, code: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.details = details or {}


def error_response(code: str, details: dict[str, Any] | None = None) -> tuple[Response, int]:
    status, message, message_vi = ERRORS[code]
    body: dict[str, Any] = {"code": code, "message": message, "message_vi": message_vi}
    if status == 413:
        details = {**LIMITS, **(details or {})}
    if details:
        body["details"] = details
    response = json_response({"error": body}, status)
    if code in RETRY_AFTER_SECONDS:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS[code])
    return response, status
