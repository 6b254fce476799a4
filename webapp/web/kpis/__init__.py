from flask import Blueprint

bp = Blueprint("kpis", __name__)

from webapp.web.kpis import routes  # noqa: E402, F401
