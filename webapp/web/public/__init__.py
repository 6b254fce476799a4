from flask import Blueprint

bp = Blueprint("public", __name__)

from webapp.web.public import routes  # noqa: E402, F401
