from flask import Blueprint

bp = Blueprint("campaigns", __name__)

from webapp.web.campaigns import routes, wizard  # noqa: E402, F401
