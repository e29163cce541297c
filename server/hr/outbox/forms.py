"""The upload form of a tablet's waiting-events file."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize

from server.hr.outbox.services import MAX_FILE_BYTES


class OutboxFileForm(FlaskForm):
    file = FileField(
        _l("Waiting-events file (.json)"),
        validators=[
            FileRequired(_l("Choose a file.")),
            FileAllowed(["json"], _l("Only the .json file a tablet exports can be uploaded.")),
            FileSize(MAX_FILE_BYTES, message=_l("The file is larger than 20 MB.")),
        ],
    )
