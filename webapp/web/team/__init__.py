"""The team: the users page (admins) and the public page that accepts an invitation."""

# Importing the view modules registers their routes on `bp`.
from webapp.web.team import invitations, routes  # noqa: F401
from webapp.web.team.blueprint import bp

__all__ = ["bp"]
