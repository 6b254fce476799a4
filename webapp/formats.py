"""How numbers and times read to a person: plain functions for pages, mails and messages.

Services may use these; `webapp.formatting` only hands them to Jinja as filters.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app


def local_time(value: datetime | None, fmt: str = "%d-%m-%Y %H:%M") -> str:
    """A UTC datetime as wall-clock time in APP_TIMEZONE; empty for None."""
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(current_app.config["APP_TIMEZONE"])).strftime(fmt)


def thousands(value: int | None) -> str:
    """12345 -> '12.345', the Dutch way."""
    if value is None:
        return "\u2013"  # an en dash: "no figure", not zero
    return f"{value:,}".replace(",", ".")
