"""Mail templates: the list and the step editor with its live preview."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.templates import mail_to_self, routes  # noqa: F401
from webapp.web.templates.blueprint import bp

__all__ = ["bp"]
