"""Campaign pages: the list, the wizard, one campaign and its messages."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.campaigns import (
    copies,  # noqa: F401
    experiments,  # noqa: F401
    routes,  # noqa: F401
    wizard,  # noqa: F401
)
from webapp.web.campaigns.blueprint import bp

__all__ = ["bp"]
