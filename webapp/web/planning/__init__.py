"""Domain availability and the sending calendar."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.planning import (
    chart,  # noqa: F401
    routes,  # noqa: F401
)
from webapp.web.planning.blueprint import bp

__all__ = ["bp"]
