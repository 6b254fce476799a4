"""KPI tables, timelines and their CSV exports."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.kpis import routes  # noqa: F401
from webapp.web.kpis.blueprint import bp

__all__ = ["bp"]
