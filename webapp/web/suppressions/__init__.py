"""The suppression list: addresses and whole domains never mailed again."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.suppressions import routes  # noqa: F401
from webapp.web.suppressions.blueprint import bp

__all__ = ["bp"]
