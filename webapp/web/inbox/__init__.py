from flask import Blueprint

bp = Blueprint("inbox", __name__)

from webapp.web.inbox import routes  # noqa: E402, F401
