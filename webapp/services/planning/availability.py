"""Domain availability: how full each sending domain is over the next 14 working days."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from webapp.services.planning.plans import (
    availability_rows,
    domain_spec,
    list_domains,
    running_campaign_counts,
    taken_slots,
)
from webapp.services.planning.report import iso
from webapp.services.planning.slots import DomainCalendar, PlanError, SlotCursor

DAYS_AHEAD = 14


def working_days_ahead(calendar: DomainCalendar, now: datetime, count: int) -> list[date]:
    """Today (if it is a working day) and the working days after it, `count` in all."""
    days = [calendar.next_working_day(calendar.local_date(now))]
    while len(days) < count:
        days.append(calendar.next_working_day(days[-1] + timedelta(days=1)))
    return days


def domain_availability(now: datetime) -> list[dict[str, Any]]:
    """One entry per domain, ordered by label (docs/interfaces.md)."""
    domains = list_domains()
    if not domains:
        return []
    counts = running_campaign_counts()
    calendars = {d.name: DomainCalendar(domain_spec(d)) for d in domains}
    days = {}
    for name, calendar in calendars.items():
        try:
            days[name] = working_days_ahead(calendar, now, DAYS_AHEAD)
        except PlanError:
            days[name] = []
    first = (
        min(calendars[n].day_start(d[0]) for n, d in days.items() if d)
        if any(days.values())
        else now
    )
    last = max(
        (calendars[n].day_start(d[-1] + timedelta(days=1)) for n, d in days.items() if d),
        default=now,
    )
    booked_rows = availability_rows(list(calendars), first, last)
    taken = taken_slots(domains, now)
    result = []
    for domain in domains:
        calendar = calendars[domain.name]
        per_day = Counter(calendar.local_date(at).isoformat() for at in booked_rows[domain.name])
        result.append(
            {
                "domain": domain.name,
                "label": domain.label,
                "active_campaigns": counts.get(domain.name, 0),
                "capacity_per_day": calendar.slots_per_day(),
                "booked": {d.isoformat(): per_day.get(d.isoformat(), 0) for d in days[domain.name]},
                "capacity": {d.isoformat(): len(calendar.slots(d)) for d in days[domain.name]},
                "next_free_slot": None if domain.paused else _next_free(calendar, taken, now),
                "paused": domain.paused,
            }
        )
    return result


def _next_free(calendar: DomainCalendar, taken: dict[str, Any], now: datetime) -> str | None:
    bookings = taken.get(calendar.spec.name, [])
    try:
        return iso(SlotCursor(calendar, [b.at for b in bookings], now).peek())
    except PlanError:
        return None
