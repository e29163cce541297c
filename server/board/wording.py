"""How the board console words statuses, reasons and durations, in the reader's language."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from server.board.health import LAGGING, NEVER, OK, REVOKED, STALE, WIPED, Reason
from server.views_common import localtime
from sync.engine import REASONS

STATUS_LABELS = {
    OK: _l("OK"),
    LAGGING: _l("Lagging"),
    STALE: _l("Stale"),
    NEVER: _l("Never synced"),
    REVOKED: _l("Revoked"),
    WIPED: _l("Storage wiped"),
}
STATUS_CLASSES = {
    OK: "ok",
    LAGGING: "warn",
    STALE: "bad",
    NEVER: "bad",
    REVOKED: "muted",
    WIPED: "bad",
}
FLAG_LABELS = {
    "exit_missing": _l("exit not recorded, closed at shift length"),
    "second_entry": _l("exit not recorded, closed at the next entry"),
    "entry_missing": _l("entry not recorded"),
}


def duration(value: timedelta | None) -> str:
    """A span the way people say it: "3 h 5 min", "2 days 4 h"."""
    if value is None:
        return "—"
    if value.total_seconds() < 60:
        return _("%(seconds)d s", seconds=int(value.total_seconds()))
    minutes = int(value.total_seconds() // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(days)d d %(hours)d h", days=days, hours=hours)
    if hours:
        return _("%(hours)d h %(minutes)d min", hours=hours, minutes=minutes)
    return _("%(minutes)d min", minutes=minutes)


def reason(item: Reason) -> str:
    if item.code in ("wiped", "possible_wipe"):
        return _wipe_reason(item)
    if item.code == "revoked":
        return _("revoked on %(when)s", when=localtime(item.value))
    if item.code == "never_synced":
        return _("enrolled but has never synced")
    if item.code == "no_tablet":
        return _("no tablet enrolled at this gate")
    if item.code == "no_sync_for":
        return _("no sync for %(span)s", span=duration(item.value))
    if item.code == "oldest_waiting":
        return _("a record has waited %(span)s on the tablet", span=duration(item.value))
    if item.code == "missing":
        return _("%(count)d numbered records never received", count=item.value)
    return _("last sync %(span)s ago", span=duration(item.value))


def _wipe_reason(item: Reason) -> str:
    wipe = item.value
    figures = {
        "count": wipe.lost_at_most,
        "seq": wipe.after_seq,
        "when": localtime(wipe.last_known_at) if wipe.last_known_at else "—",
    }
    if item.code == "wiped":
        return _(
            "storage wiped: up to %(count)d records lost after seq %(seq)d "
            "(last reported at %(when)s)",
            **figures,
        )
    return _(
        "possible wipe: silent with %(count)d records waiting after seq %(seq)d since %(when)s, "
        "and a new tablet started at this gate",
        **figures,
    )


def quarantine_reason(code: str) -> str:
    """The sync engine's own wording of why it refused a record, in the reader's language."""
    english, vietnamese = REASONS.get(code, (code, code))
    return vietnamese if str(get_locale()) == "vi" else english


def template_helpers() -> dict[str, object]:
    return {
        # Translated once per page: a health page labels hundreds of rows.
        "status_label": {code: str(label) for code, label in STATUS_LABELS.items()}.get,
        "status_class": lambda code: STATUS_CLASSES.get(code, ""),
        "flag_label": lambda code: FLAG_LABELS.get(code, ""),
        "duration": duration,
        "duration_seconds": lambda seconds: duration(
            None if seconds is None else timedelta(seconds=seconds)
        ),
        "reason_text": reason,
        "quarantine_reason": quarantine_reason,
    }
