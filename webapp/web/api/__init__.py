"""The JSON API (`/api/v1`): bearer tokens, JSON errors, the same services as the pages."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from webapp.web.api import (  # noqa: E402, F401
    audience,
    campaigns,
    domains,
    kpis,
    leads,
    me,
    messages,
    planning,
    suppressions,
    templates,
)
