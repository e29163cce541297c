"""Every message the consoles can show exists in Vietnamese."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

SERVER = Path(__file__).resolve().parents[2] / "server"
KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None, "ngettext": (1, 2)}
METHOD_MAP = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def vietnamese_catalog() -> dict[str, str]:
    messages: dict[str, str] = {}
    for po_path in SERVER.glob("**/translations/vi/LC_MESSAGES/messages.po"):
        with po_path.open("rb") as po_file:
            for message in read_po(po_file):
                if message.id and isinstance(message.id, str):
                    messages.setdefault(message.id, message.string or "")
    return messages


def used_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(SERVER), METHOD_MAP, keywords=KEYWORDS
    ):
        found.update(message if isinstance(message, tuple) else (message,))
    return {m for m in found if m}


def test_every_message_in_the_code_has_a_vietnamese_translation() -> None:
    catalog = vietnamese_catalog()
    missing = sorted(m for m in used_messages() if not catalog.get(m))
    assert missing == [], "add these to a catalog under server/**/translations/vi:\n" + "\n".join(
        missing
    )


def test_translations_keep_their_placeholders() -> None:
    broken = [
        msgid
        for msgid, msgstr in vietnamese_catalog().items()
        if msgstr and set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(msgstr))
    ]
    assert broken == []
