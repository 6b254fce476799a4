"""Logging in and out, and choosing a new password after forgetting it."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.auth import passwords, routes  # noqa: F401
from webapp.web.auth.blueprint import bp

__all__ = ["bp"]
