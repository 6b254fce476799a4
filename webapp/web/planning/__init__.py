from flask import Blueprint

bp = Blueprint("planning", __name__)

from webapp.web.planning import chart, routes  # noqa: E402, F401
