"""The public self check-in page behind each gate's QR poster, at /c/<poster token>."""

from flask import Blueprint

bp = Blueprint("checkin", __name__)

from server.checkin import routes  # noqa: E402,F401 - routes attach themselves to bp
