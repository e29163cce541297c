"""Reading a JSON request body within the protocol's limits, gzip or not."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass
from typing import Any

from flask import Request

from server.api.errors import ApiError
from sync.schemas import MAX_BODY_BYTES, MAX_INFLATED_BYTES


def read_json(request: Request) -> Any:
    """The parsed body; ApiError for a wrong type, a size over the limits or broken JSON/gzip."""
    return parse_json(receive_body(request))


@dataclass(frozen=True)
class ReceivedBody:
    data: bytes
    gzip: bool


def receive_body(request: Request) -> ReceivedBody:
    """The body as it came, read from the connection; ApiError for a wrong type or a size over
    the limit. Reading waits on the tablet's link; `parse_json` is the work on the server."""
    if request.mimetype != "application/json":
        raise ApiError("unsupported_media_type", {"content_type": request.mimetype[:100]})
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip"):
        raise ApiError("unsupported_media_type", {"content_encoding": encoding[:100]})
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError("payload_too_large")
    data = request.stream.read(MAX_BODY_BYTES + 1)
    if len(data) > MAX_BODY_BYTES:
        raise ApiError("payload_too_large")
    return ReceivedBody(data, encoding == "gzip")


def parse_json(body: ReceivedBody) -> Any:
    """The body's JSON; ApiError for broken gzip or JSON, or more than the limit inflated."""
    data = _inflate(body.data) if body.gzip else body.data
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except (ValueError, RecursionError) as error:
        # RecursionError: a body of a million "[" is valid gzip and nests past the parser's stack.
        raise ApiError("invalid_json") from error


def _inflate(body: bytes) -> bytes:
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        data = inflater.decompress(body, MAX_INFLATED_BYTES + 1)
    except zlib.error as error:
        raise ApiError("invalid_gzip") from error
    if len(data) > MAX_INFLATED_BYTES:
        # A gzip bomb stops here: never more than the cap is inflated.
        raise ApiError("payload_too_large")
    if not inflater.eof or inflater.unused_data:
        raise ApiError("invalid_gzip")
    return data


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")
