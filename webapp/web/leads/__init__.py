"""Lead pages: the list, imports, one lead, bulk actions and lists."""

# Importing the view modules registers their routes (and the filters) on `bp`.
from webapp.web.leads import filters, routes  # noqa: F401
from webapp.web.leads.blueprint import bp

__all__ = ["bp"]
