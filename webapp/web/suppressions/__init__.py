from flask import Blueprint

bp = Blueprint("suppressions", __name__)

from webapp.web.suppressions import routes  # noqa: E402, F401
