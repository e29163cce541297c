"""QR codes for printed badges and visitor passes: inline SVG for pages, PNG to send on."""

from __future__ import annotations

import io

import qrcode
import qrcode.constants
from markupsafe import Markup
from qrcode.image.svg import SvgPathImage

from server.tokens import BADGE_PREFIX, PASS_PREFIX


def badge_content(token: str) -> str:
    return BADGE_PREFIX + token


def pass_content(token: str) -> str:
    return PASS_PREFIX + token


def _qr(content: str, box_size: int = 10) -> qrcode.QRCode:
    # Level M survives a scuffed or folded card; the quiet zone of 2 modules is enough for the
    # tablets' decoders and keeps the code large on a small badge.
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M, border=2, box_size=box_size
    )
    code.add_data(content)
    code.make(fit=True)
    return code


def qr_svg(content: str) -> Markup:
    """An inline <svg> that scales to its box (CSS sets the size) and prints sharp."""
    svg = _qr(content).make_image(image_factory=SvgPathImage).to_string(encoding="unicode")
    # Only our own base32 tokens go in, so the generated markup is safe to inline.
    return Markup(svg.replace("<svg ", '<svg role="img" shape-rendering="crispEdges" ', 1))  # noqa: S704


def qr_png(content: str) -> bytes:
    """A PNG of the code, for HR to send to a visitor's phone."""
    image = _qr(content, box_size=12).make_image()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
