"""The part of the product the internet reaches: pixel, tracked links, unsubscribe."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.tracking import routes  # noqa: F401
from webapp.web.tracking.blueprint import bp

__all__ = ["bp"]
