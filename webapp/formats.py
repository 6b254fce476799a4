"""How dates, times and numbers read to a person: the one place for every visible format.

Pages (through the Jinja filters of `webapp.formatting`), charts, messages and CSV exports
use these, so one page never mixes two styles. Times are stored in UTC and shown in
APP_TIMEZONE. The JSON API keeps ISO 8601 with an offset and plain numbers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app

DATE_TIME = "%d-%m-%Y %H:%M"
DATE = "%d-%m-%Y"
TIME = "%H:%M"
# Chart axes, where a year does not fit: the date's day and month, in the same order.
DAY_MONTH = "%d-%m"
# CSV cells: sortable, in APP_TIMEZONE, to the second.
EXPORT_DATE_TIME = "%Y-%m-%d %H:%M:%S"

NO_FIGURE = "\u2013"  # an en dash: "no figure", which is not zero

# What the formatters take: a datetime (naive ones are UTC, as stored), a date, or the ISO
# 8601 text the dry run, the availability and the API's dicts carry.
Moment = datetime | date | str | None


def app_zone() -> ZoneInfo:
    """The zone every time is shown in (APP_TIMEZONE)."""
    return ZoneInfo(current_app.config["APP_TIMEZONE"])


def in_app_zone(value: datetime | str) -> datetime:
    """A moment as wall-clock time in APP_TIMEZONE."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(app_zone())
    except OverflowError:
        # At the very edge of datetime's range (year 1 or 9999) the zone's offset does not
        # fit; a stored value there must still show, so it shows in UTC.
        return moment


def _day(value: datetime | date | str) -> date:
    # A bare date ("2026-12-02") is a calendar day already: no zone may shift it.
    if isinstance(value, str) and len(value) == 10:
        return date.fromisoformat(value)
    if isinstance(value, datetime | str):
        return in_app_zone(value).date()
    return value


def local_time(value: Moment) -> str:
    """Date and time in APP_TIMEZONE: '02-12-2026 13:20'; empty for None."""
    if value is None or value == "":
        return ""
    if not isinstance(value, datetime | str):
        return value.strftime(DATE)
    return in_app_zone(value).strftime(DATE_TIME)


def local_date(value: Moment) -> str:
    """The day, in APP_TIMEZONE for a moment: '02-12-2026'; empty for None."""
    if value is None or value == "":
        return ""
    return _day(value).strftime(DATE)


def day_month(value: Moment) -> str:
    """A chart axis label: '02-12'; empty for None."""
    if value is None or value == "":
        return ""
    return _day(value).strftime(DAY_MONTH)


def clock_time(value: datetime | time | str | None) -> str:
    """The time of day: '13:20' (a moment in APP_TIMEZONE, a wall-clock time as it is)."""
    if value is None or value == "":
        return ""
    if isinstance(value, time):
        return value.strftime(TIME)
    return in_app_zone(value).strftime(TIME)


def thousands(value: int | None) -> str:
    """12345 -> '12.345', the Dutch way."""
    if value is None:
        return NO_FIGURE
    return f"{int(value):,}".replace(",", ".")


def decimal(value: float | None, places: int = 1) -> str:
    """12345.5 -> '12.345,5': Dutch separators, at most `places` decimals, no trailing zeros."""
    if value is None:
        return NO_FIGURE
    text = f"{value:,.{places}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def percent(value: float | None, places: int = 2) -> str:
    """A rate in percent: 28.571 -> '28,57%'; a dash when there is none (nothing sent)."""
    if value is None:
        return NO_FIGURE
    text = f"{value:,.{places}f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return f"{text}%"


def export_time(value: datetime | None) -> str:
    """A moment in a CSV cell: '2026-12-02 13:20:05' in APP_TIMEZONE; empty for None."""
    if value is None:
        return ""
    return in_app_zone(value).strftime(EXPORT_DATE_TIME)
