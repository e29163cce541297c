"""What the upload page says for each refusal of a file and each ack of an event."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

FILE_PROBLEMS = {
    "too_large": _l("The file is larger than 20 MB."),
    "unreadable": _l(
        "The file is not a JSON file. Upload the file exactly as the tablet saved it."
    ),
    "invalid_format": _l(
        "This is not a waiting-events file of a gate tablet, or it was changed after export."
    ),
    "old_format": _l(
        "This file was saved by an older gate app whose signature is no longer accepted. Nothing "
        "was stored. Connect the tablet to the network so the app updates and sends its events, "
        "or save the file again after the update."
    ),
    "no_tablet_key": _l(
        "This tablet was enrolled by an older gate app and has no signing key, so its files "
        "cannot be checked. Nothing was stored. Let the tablet sync over the network; once it "
        "has nothing waiting, un-enrol it and enrol it again with a new code."
    ),
    "unknown_device": _l(
        "This file comes from a tablet that is not one of your enterprise's. Nothing was stored."
    ),
    "bad_signature": _l(
        "The file's signature does not match the tablet: it was changed after export, or it was "
        "not made by this tablet. Nothing was stored."
    ),
}

STATUSES = {
    "accepted": _l("Added"),
    "duplicate": _l("Already received"),
    "rejected": _l("Rejected"),
}
