"""The overview after logging in."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.dashboard import routes  # noqa: F401
from webapp.web.dashboard.blueprint import bp

__all__ = ["bp"]
