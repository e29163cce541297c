"""The printed poster's parts: its bilingual instructions, and the QR code alone as a PNG."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from flask_babel import force_locale
from flask_babel import gettext as _

# Text lines of the poster wrap at this many characters (SVG text does not wrap by itself).
LINE_CHARS = 44


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
