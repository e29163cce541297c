from flask import Blueprint

bp = Blueprint("hr", __name__, url_prefix="/hr")

from server.hr import routes  # noqa: E402,F401 - routes attach themselves to bp
from server.hr.activity import routes as activity_routes  # noqa: E402,F401 - same
