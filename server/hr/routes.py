from flask import current_app, render_template
from flask_login import current_user

from server.access import role_required
from server.hr import bp, services
from server.models import utcnow


@bp.route("/")
@role_required("hr")
def index():
    settings = current_app.config["GATELOG"]
    figures = services.overview(current_user, now=utcnow(), timezone=settings.timezone)
    return render_template("hr/index.html", figures=figures, enterprise=current_user.enterprise)
