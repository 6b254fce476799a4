from flask import Blueprint

bp = Blueprint("templates_editor", __name__)

from webapp.web.templates_editor import routes  # noqa: E402, F401
