"""The JSON API (`/api/v1`): bearer tokens, JSON errors, the same services as the pages."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.api import (
    audience,  # noqa: F401
    audit,  # noqa: F401
    campaigns,  # noqa: F401
    connection_checks,  # noqa: F401
    deliverability,  # noqa: F401
    domains,  # noqa: F401
    experiments,  # noqa: F401
    kpis,  # noqa: F401
    leads,  # noqa: F401
    me,  # noqa: F401
    messages,  # noqa: F401
    planning,  # noqa: F401
    suppressions,  # noqa: F401
    templates,  # noqa: F401
    users,  # noqa: F401
)
from webapp.web.api.blueprint import bp

__all__ = ["bp"]
