"""Logging in and out."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.auth import routes  # noqa: F401
from webapp.web.auth.blueprint import bp

__all__ = ["bp"]
