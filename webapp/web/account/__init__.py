"""The signed-in user's own settings: language, two-factor sign-in."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.account import routes, two_factor  # noqa: F401
from webapp.web.account.blueprint import bp

__all__ = ["bp"]
