"""The `inbox` blueprint."""

from flask import Blueprint

bp = Blueprint("inbox", __name__)
