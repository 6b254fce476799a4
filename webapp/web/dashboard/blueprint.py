"""The dashboard blueprint: the overview after logging in."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__)
