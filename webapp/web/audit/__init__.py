"""The audit trail: who did what and when, filtered, paged and exported."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.audit import routes  # noqa: F401
from webapp.web.audit.blueprint import bp

__all__ = ["bp"]
