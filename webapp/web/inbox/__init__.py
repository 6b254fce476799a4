"""The inbox: replies, bounces and auto-replies read from the domains' mailboxes."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.inbox import routes  # noqa: F401
from webapp.web.inbox.blueprint import bp

__all__ = ["bp"]
