"""The public blueprint: anonymous URLs outside tracking: the health check."""

from flask import Blueprint

bp = Blueprint("public", __name__)
