"""Anonymous URLs outside tracking: the health check."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.public import routes  # noqa: F401
from webapp.web.public.blueprint import bp

__all__ = ["bp"]
