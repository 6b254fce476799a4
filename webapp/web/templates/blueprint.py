"""The templates blueprint: mail templates: the list and the step editor with its live preview."""

from flask import Blueprint

bp = Blueprint("templates", __name__)
