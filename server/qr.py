"""QR codes of badges, passes, posters, enrolment and the gate screen: SVG to show, PNG to send."""

from __future__ import annotations

import io
import re

import qrcode
from markupsafe import Markup
from qrcode.constants import ERROR_CORRECT_M
from qrcode.image.svg import SvgPathImage

_PATH_DATA = re.compile(r' d="([^"]*)"')


def _code(content: str, *, border: int, box_size: int = 10) -> qrcode.QRCode:
    # Level M survives a scuffed badge or a folded poster and keeps the code coarse enough for
    # the tablets' cameras.
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=border, box_size=box_size)
    code.add_data(content)
    code.make(fit=True)
    return code


def qr_svg(content: str, *, border: int = 2) -> Markup:
    """An SVG of the code that scales to its box (CSS sets the size) and prints sharp.

    A quiet zone of 2 modules is enough for the tablets' decoders and keeps the code large on a
    small badge; served on its own it is a complete SVG document.
    """
    svg = _code(content, border=border).make_image(image_factory=SvgPathImage)
    text = svg.to_string(encoding="unicode")
    # Only our own tokens and URLs go in, so the generated markup is safe to inline.
    return Markup(text.replace("<svg ", '<svg role="img" shape-rendering="crispEdges" ', 1))  # noqa: S704


def qr_path(content: str) -> tuple[int, str]:
    """The code's module count and the SVG path data of its dark modules, one unit each.

    For drawings that place the code themselves, such as the A4 poster.
    """
    code = _code(content, border=0)
    svg = code.make_image(image_factory=SvgPathImage).to_string(encoding="unicode")
    match = _PATH_DATA.search(svg)
    return code.modules_count, match.group(1) if match else ""


def qr_png(content: str, *, box_size: int = 12, border: int = 4) -> bytes:
    """A PNG of the code, to send to a phone or lay out on a sign elsewhere."""
    image = _code(content, border=border, box_size=box_size).make_image()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
