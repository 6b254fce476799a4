from flask import Blueprint

bp = Blueprint("domains", __name__)

from webapp.web.domains import routes  # noqa: E402, F401
