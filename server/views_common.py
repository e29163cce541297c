"""What every console page shares: the read-only rule, template helpers, the user loader."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Flask, abort, current_app, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from server.access import SAFE_METHODS
from server.clock import in_zone
from server.extensions import db, login_manager
from server.i18n import LANGUAGES
from server.models import User

# Writes an inspector may still make: its own session and language, nothing else.
# Sending a province's list changes no record of the enterprises: it writes the record of a
# transfer of personal data that Decree 13/2023 requires, so the inspector who sends it may.
INSPECTOR_WRITABLE_ENDPOINTS = frozenset(
    {"auth.logout", "auth.set_language", "auth.login", "auth.change_password", "board.send_list"}
)

BOARD_PAGES = [
    ("board.index", _l("Sync health")),
    ("board.labour_report", _l("Workers by province")),
    ("board.gone_home", _l("Likely gone home")),
    ("board.tracing_search", _l("Contact tracing")),
    ("board.audit", _l("Audit log")),
]
NAVIGATION = {
    "hr": [
        ("hr.index", _l("Overview")),
        ("hr.roster", _l("Roster")),
        ("hr.passes_list", _l("Visitor passes")),
        ("hr.log", _l("Gate log")),
        ("hr.presence", _l("On site")),
        ("hr.pairing", _l("Entry and exit pairing")),
        ("hr.rollcall", _l("Roll call")),
        ("hr.gates", _l("Gates")),
        ("hr.tablets", _l("Tablets")),
        ("hr.outbox_upload", _l("Tablet file")),
        ("hr.backfill", _l("Backfill from paper")),
        ("hr.checkin_log", _l("Self check-in")),
    ],
    "inspector": BOARD_PAGES,
    "admin": [("admin.index", _l("Administration")), *BOARD_PAGES],
}


@login_manager.user_loader
def load_user(session_token: str) -> User | None:
    """The active user whose current session token the cookie carries; None ends the session."""
    return db.session.scalar(
        select(User).where(User.session_token == session_token, User.active.is_(True))
    )


def refuse_inspector_writes() -> None:
    """Inspectors read; any write they attempt is refused here, whatever the route."""
    if (
        request.method not in SAFE_METHODS
        and current_user.is_authenticated
        and current_user.role == "inspector"
        and request.endpoint not in INSPECTOR_WRITABLE_ENDPOINTS
    ):
        abort(403)


def localtime(value: datetime | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    """A stored UTC time as the users read it, in Asia/Ho_Chi_Minh; any time, never an error."""
    if value is None:
        return "—"
    shown = in_zone(value, ZoneInfo(current_app.config["GATELOG"].timezone))
    return shown.strftime(fmt) + (" UTC" if shown.tzinfo is UTC else "")


def template_globals() -> dict[str, object]:
    navigation = NAVIGATION.get(current_user.role, []) if current_user.is_authenticated else []
    return {
        "navigation": navigation,
        "languages": LANGUAGES,
        "current_language": str(get_locale() or "vi"),
    }


def register(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to continue.")
    login_manager.login_message_category = "warning"
    app.before_request(refuse_inspector_writes)
    app.context_processor(template_globals)
    app.add_template_filter(localtime, "localtime")
