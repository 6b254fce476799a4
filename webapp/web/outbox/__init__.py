"""The local outbox of the embedded default: mails written instead of sent."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.outbox import routes  # noqa: F401
from webapp.web.outbox.blueprint import bp

__all__ = ["bp"]
