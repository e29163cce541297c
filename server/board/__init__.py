from flask import Blueprint

bp = Blueprint("board", __name__, url_prefix="/board")

from server.board import routes  # noqa: E402,F401 - routes attach themselves to bp
