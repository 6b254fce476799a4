"""The `team` blueprint: /users for admins, /invite/<token> for whoever holds the link."""

from flask import Blueprint

bp = Blueprint("team", __name__)
