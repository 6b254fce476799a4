"""The `outbox` blueprint."""

from flask import Blueprint

bp = Blueprint("outbox", __name__)
