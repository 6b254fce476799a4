from flask import Blueprint

bp = Blueprint("outbox", __name__)

from webapp.web.outbox import routes  # noqa: E402, F401
