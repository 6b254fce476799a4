"""Lead pages: the list, imports, one lead, bulk actions and lists."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.leads import routes  # noqa: F401
from webapp.web.leads.blueprint import bp

__all__ = ["bp"]
