"""How dates, times and numbers read to a person: the one place for every visible format.

Pages (through the Jinja filters of `webapp.formatting`), charts, messages and CSV exports
use these, so one page never mixes two styles. They follow the request's locale (Babel's
data for Dutch and English); Dutch keeps the forms Dutch offices write: '02-12-2026 13:20',
'12.345,5'. Times are stored in UTC and shown in APP_TIMEZONE. The JSON API keeps ISO 8601
with an offset and plain numbers.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_skeleton, format_time, format_timedelta
from babel.numbers import format_decimal
from flask import current_app

from webapp.i18n import current_locale

# Per language, the date as people there write it; other languages take Babel's medium form.
DATE_PATTERNS = {"nl": "dd-MM-yyyy"}
# Chart axes, where a year does not fit: the day and month, in the locale's order.
DAY_MONTH_PATTERNS = {"nl": "dd-MM"}
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
        return local_date(value)
    moment = in_app_zone(value)
    return f"{local_date(moment.date())} {clock_time(moment.time())}"


def local_date(value: Moment) -> str:
    """The day, in APP_TIMEZONE for a moment: '02-12-2026' ('Dec 2, 2026'); empty for None."""
    if value is None or value == "":
        return ""
    locale = current_locale()
    return format_date(_day(value), DATE_PATTERNS.get(locale.language, "medium"), locale=locale)


def day_month(value: Moment) -> str:
    """A chart axis label: '02-12' ('Dec 2'); empty for None."""
    if value is None or value == "":
        return ""
    locale = current_locale()
    pattern = DAY_MONTH_PATTERNS.get(locale.language)
    if pattern:
        return format_date(_day(value), pattern, locale=locale)
    return format_skeleton("MMMd", _day(value), locale=locale)


def clock_time(value: datetime | time | str | None) -> str:
    """The time of day: '13:20' ('1:20 PM'); a moment in APP_TIMEZONE, a wall time as it is."""
    if value is None or value == "":
        return ""
    wall = value if isinstance(value, time) else in_app_zone(value).time()
    return format_time(wall.replace(tzinfo=None), "short", locale=current_locale())


def thousands(value: int | None) -> str:
    """12345 -> '12.345' ('12,345')."""
    if value is None:
        return NO_FIGURE
    number = int(value)
    if 0 <= number < 1000:
        # Nothing to group, and both languages (nl, en) write these digits as Python does:
        # a page of thousands of small counts skips Babel's formatter (0.03 ms each).
        return str(number)
    return format_decimal(number, locale=current_locale())


def decimal(value: float | None, places: int = 1) -> str:
    """12345.5 -> '12.345,5': at most `places` decimals, no trailing zeros."""
    if value is None:
        return NO_FIGURE
    pattern = "#,##0." + "#" * places if places else "#,##0"
    return format_decimal(value, format=pattern, locale=current_locale())


def percent(value: float | None, places: int = 2) -> str:
    """A rate in percent: 28.571 -> '28,57%'; a dash when there is none (nothing sent)."""
    if value is None:
        return NO_FIGURE
    pattern = "#,##0." + "0" * places if places else "#,##0"
    return format_decimal(value, format=pattern, locale=current_locale()) + "%"


def duration(value: timedelta | float | None) -> str:
    """A length of time in words: '20 minuten' ('20 minutes'); a dash for None."""
    if value is None:
        return NO_FIGURE
    seconds = value.total_seconds() if isinstance(value, timedelta) else value
    return format_timedelta(timedelta(seconds=seconds), threshold=1.5, locale=current_locale())


def relative_time(value: Moment, now: datetime | None = None) -> str:
    """How long ago or from now: '3 uur geleden', 'over 2 dagen'; empty for None."""
    if value is None or value == "" or not isinstance(value, datetime | str):
        return ""
    moment = in_app_zone(value)
    delta = moment - (now or datetime.now(UTC))
    return format_timedelta(delta, add_direction=True, threshold=1.5, locale=current_locale())


def export_time(value: datetime | None) -> str:
    """A moment in a CSV cell: '2026-12-02 13:20:05' in APP_TIMEZONE; empty for None."""
    if value is None:
        return ""
    return in_app_zone(value).strftime(EXPORT_DATE_TIME)
