"""Writing the device API's JSON answers: any Python text becomes a body that can be sent."""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Response

# A lone surrogate (a broken id or field name echoed back) has no UTF-8 form: left raw it makes
# the answer unencodable after the push was committed. As a JSON escape it is valid JSON, and
# the client parses it back to the very string it sent, so an echoed id still matches.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def encode_json(body: Any) -> bytes:
    """UTF-8 JSON of `body`; never raises for any text inside it."""
    # Flask's provider sorts keys: for a 500-ack answer that costs more than it is worth.
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return _LONE_SURROGATE.sub(_escape, text).encode()


def json_response(body: Any, status: int = 200) -> Response:
    return Response(encode_json(body), status=status, mimetype="application/json")
