"""Locale choice and the message catalogs each area keeps beside its code."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import current_app, request, session
from flask_babel import LazyString, force_locale
from flask_login import current_user

LANGUAGES = ("vi", "en")
SERVER_ROOT = Path(__file__).resolve().parent


def translation_directories() -> list[str]:
    """Every `translations` folder under server/: each area owns its catalog."""
    return sorted(str(path) for path in SERVER_ROOT.glob("**/translations") if path.is_dir())


def compile_catalogs() -> None:
    """Compile each .po whose .mo is missing or older, so no build step can be forgotten."""
    for po_path in SERVER_ROOT.glob("**/translations/*/LC_MESSAGES/*.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        # Several gunicorn workers may start at once: write aside, then rename atomically.
        fd, tmp_name = tempfile.mkstemp(dir=mo_path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as tmp_file:
            write_mo(tmp_file, catalog)
        os.replace(tmp_name, mo_path)


def select_locale() -> str:
    if current_user and current_user.is_authenticated and current_user.language in LANGUAGES:
        return current_user.language
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if request.args.get("lang") in LANGUAGES:
        return request.args["lang"]
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def in_both_languages(message: LazyString) -> str:
    """A message for the command line, which has no chosen language: Vietnamese, then English."""
    lines = []
    for language in LANGUAGES:
        with force_locale(language):
            lines.append(str(message))
    return "\n".join(lines)
