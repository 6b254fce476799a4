"""The auth blueprint: logging in and out."""

from flask import Blueprint

bp = Blueprint("auth", __name__)
