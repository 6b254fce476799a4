"""The JSON API (`/api/v1`): bearer tokens, JSON errors, the same services as the pages."""

from flask import Blueprint

bp = Blueprint("api", __name__)
