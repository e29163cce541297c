"""The printed poster's parts: its bilingual instructions, and the QR code alone as a PNG."""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass

import qrcode
from flask_babel import force_locale
from flask_babel import gettext as _
from qrcode.constants import ERROR_CORRECT_M

# Text lines of the poster wrap at this many characters (SVG text does not wrap by itself).
LINE_CHARS = 44
PNG_BOX_PIXELS = 20


@dataclass(frozen=True)
class Instructions:
    language: str
    paragraphs: list[list[str]]


def _instruction_text() -> list[str]:
    return [
        _("Scan this code with your phone camera to record your entry or exit."),
        _("Workers: the first time, enter your employee code and phone number."),
        _("Visitors: fill in your details and the health declaration."),
    ]


def instructions() -> list[Instructions]:
    """The poster's instructions in Vietnamese and in English, whatever the reader's language."""
    result = []
    for language in ("vi", "en"):
        with force_locale(language):
            paragraphs = [textwrap.wrap(text, LINE_CHARS) for text in _instruction_text()]
        result.append(Instructions(language, paragraphs))
    return result


def qr_png(content: str) -> bytes:
    """The QR code alone, at print resolution, for signs laid out elsewhere."""
    image = qrcode.make(
        content, error_correction=ERROR_CORRECT_M, box_size=PNG_BOX_PIXELS, border=4
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()
