"""Upload a tablet's waiting-events file: parse, call the service, show each event's fate."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user

from server.access import role_required
from server.admin.config import effective, ingest_policy
from server.hr import bp
from server.hr.outbox.forms import OutboxFileForm
from server.hr.outbox.messages import FILE_PROBLEMS, STATUSES
from server.hr.outbox.services import OutboxFileRefused, import_outbox_file
from server.models.types import utcnow


@bp.route("/tablets/outbox-file", methods=["GET", "POST"])
@role_required("hr")
def outbox_upload():
    form = OutboxFileForm()
    result = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = import_outbox_file(
                current_user,
                upload.read(),
                filename=upload.filename or "",
                now=utcnow(),
                ip=request.remote_addr or "",
                policy=ingest_policy(effective(current_app.config["GATELOG"])),
            )
        except OutboxFileRefused as refused:
            form.file.errors.append(FILE_PROBLEMS[refused.code])
    status = 200 if result or not form.errors else 400
    return render_template(
        "hr/outbox/upload.html",
        form=form,
        result=result,
        statuses=STATUSES,
    ), status
