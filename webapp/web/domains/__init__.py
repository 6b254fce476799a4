"""Sending domain pages (admins change them, everyone reads them)."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.domains import connection, deliverability, routes  # noqa: F401
from webapp.web.domains.blueprint import bp

__all__ = ["bp"]
