from flask import Blueprint

bp = Blueprint("hr", __name__, url_prefix="/hr")

from server.hr import routes  # noqa: E402,F401 - routes attach themselves to bp
from server.hr.activity import routes as activity_routes  # noqa: E402,F401 - same
from server.hr.backfill import routes as backfill_routes  # noqa: E402,F401 - same
from server.hr.checkin import routes as checkin_routes  # noqa: E402,F401 - same
from server.hr.outbox import routes as outbox_routes  # noqa: E402,F401 - same
from server.hr.pairing import routes as pairing_routes  # noqa: E402,F401 - same
from server.hr.rollcall import routes as rollcall_routes  # noqa: E402,F401 - same
from server.hr.roster import routes as roster_routes  # noqa: E402,F401 - same
