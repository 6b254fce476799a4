"""What a service refuses, in three kinds the web layer answers the same way everywhere.

Services raise these (or an area's subclass of them); `webapp.errors` turns them into a
422, 409 or 404: JSON for the API, a page or a fragment otherwise. Nothing here knows HTTP.
"""

from __future__ import annotations

from flask_babel import gettext as _


def describe(fields: dict[str, str]) -> str:
    """`field: reason; other: reason`, for logs, the command line and flash messages."""
    return "; ".join(f"{name}: {reason}" for name, reason in fields.items())


class ServiceError(Exception):
    """A refusal a caller can act on: `message` says what, `fields` where, `code` for machines."""

    default_code = "error"

    def __init__(
        self, message: str, *, code: str | None = None, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.fields: dict[str, str] = dict(fields or {})


class InvalidInput(ServiceError, ValueError):
    """Input that cannot be used; `fields` maps each bad field to the reason (a 422)."""

    default_code = "invalid"

    def __init__(
        self, fields: dict[str, str], message: str | None = None, *, code: str | None = None
    ) -> None:
        super().__init__(message or _("invalid input"), code=code, fields=fields)

    def __str__(self) -> str:
        # The headline alone ("invalid campaign") says nothing; the fields say what to fix.
        return describe(self.fields) if self.fields else self.message


class Conflict(ServiceError):
    """The current state does not allow this (a 409); trying again later may work."""

    default_code = "conflict"

    def __init__(
        self, message: str, *, code: str | None = None, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message, code=code, fields=fields)


class NotFound(ServiceError):
    """What was asked for does not exist (a 404)."""

    default_code = "not_found"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
