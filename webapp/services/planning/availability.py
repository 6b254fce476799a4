"""Domain availability: how full each sending domain is over the next 14 working days.

Booked counts come from the booking summary (`planning.bookings`), capacities from the
calendar's arithmetic, and the next free slot from the bookings of the first day that is
not full: nothing reads every future booking or builds every slot of every day.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Message, SendingDomain
from webapp.services.planning.bookings import live_per_day, summary_zone_fits
from webapp.services.planning.plans import (
    LIVE,
    availability_rows,
    domain_spec,
    list_domains,
    running_campaign_counts,
)
from webapp.services.planning.report import iso
from webapp.services.planning.slots import HORIZON_DAYS, DomainCalendar, PlanError, SlotCursor

DAYS_AHEAD = 14
# How many days ahead the first look for a day that is not full reads; each further look
# reads four times as many.
_FIRST_LOOK = 16
# How late after its slot a sent mail is still looked for by its slot.
LATE_SEND_LOOKBACK = timedelta(days=1)


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
    days: dict[str, list[date]] = {}
    for name, calendar in calendars.items():
        try:
            days[name] = working_days_ahead(calendar, now, DAYS_AHEAD)
        except PlanError:
            days[name] = []
    booked = _booked(domains, calendars, days)
    free = _next_free_slots([d for d in domains if not d.paused], calendars, now)
    result = []
    for domain in domains:
        calendar = calendars[domain.name]
        per_day = booked[domain.name]
        result.append(
            {
                "domain": domain.name,
                "label": domain.label,
                "active_campaigns": counts.get(domain.name, 0),
                "capacity_per_day": calendar.slots_per_day(),
                "booked": {d.isoformat(): per_day.get(d, 0) for d in days[domain.name]},
                "capacity": {d.isoformat(): calendar.capacity(d) for d in days[domain.name]},
                "next_free_slot": None if domain.paused else iso(free.get(domain.name)),
                "paused": domain.paused,
            }
        )
    return result


def _booked(
    domains: list[SendingDomain],
    calendars: dict[str, DomainCalendar],
    days: dict[str, list[date]],
) -> dict[str, dict[date, int]]:
    """Live bookings per domain and local day: from the summary when the domain's days are
    the summary's days, else from the domain's own bookings over its 14 days."""
    fits = [d.name for d in domains if summary_zone_fits(d.timezone) and days[d.name]]
    others = [d.name for d in domains if d.name not in fits and days[d.name]]
    booked: dict[str, dict[date, int]] = {d.name: {} for d in domains}
    if fits:
        first = min(days[n][0] for n in fits)
        last = max(days[n][-1] for n in fits)
        booked.update(live_per_day(fits, first, last))
    if others:
        first_at = min(calendars[n].day_start(days[n][0]) for n in others)
        last_at = max(calendars[n].day_start(days[n][-1] + timedelta(days=1)) for n in others)
        rows = availability_rows(others, first_at, last_at)
        for name in others:
            booked[name] = dict(Counter(calendars[name].local_date(at) for at in rows[name]))
    return booked


def _next_free_slots(
    domains: list[SendingDomain], calendars: dict[str, DomainCalendar], now: datetime
) -> dict[str, datetime]:
    """Per domain, its first free slot from `now` on (absent when there is none)."""
    found: dict[str, datetime] = {}
    for domain in domains:
        calendar = calendars[domain.name]
        try:
            moment = next_free_slot(calendar, now)
        except PlanError:
            continue
        if moment is not None:
            found[domain.name] = moment
    return found


def next_free_slot(calendar: DomainCalendar, now: datetime) -> datetime | None:
    """The domain's first free slot from `now` on, reading bookings of one or a few days.

    Today is always read (mail overdue or just sent counts differently there). A later
    day whose live bookings fill its capacity is full: the planner books one message a
    slot, on the grid. Any other day is read, and the cursor looks for a slot in it.
    """
    today = calendar.local_date(now)
    limit = today + timedelta(days=HORIZON_DAYS)
    full = _FullDays(calendar, today, limit)
    day = calendar.next_working_day(today)
    while day <= limit:
        if day == today or not full(day):
            moment = _free_in_day(calendar, day, now)
            if moment is not None:
                return moment
        day = calendar.next_working_day(day + timedelta(days=1))
    return None


class _FullDays:
    """Tells whether a day is full by the summary, reading it ahead in growing stretches
    (a domain in another time zone has no summary days: each of its days is read)."""

    def __init__(self, calendar: DomainCalendar, first: date, limit: date) -> None:
        self.calendar = calendar
        self.limit = limit
        self.read_until = first - timedelta(days=1)
        self.stretch = _FIRST_LOOK
        self.known: dict[date, int] = {}
        self.fits = summary_zone_fits(calendar.spec.timezone)

    def __call__(self, day: date) -> bool:
        if not self.fits:
            return False
        name = self.calendar.spec.name
        while day > self.read_until and self.read_until < self.limit:
            start = self.read_until + timedelta(days=1)
            end = min(self.limit, start + timedelta(days=self.stretch))
            self.known.update(live_per_day([name], start, end)[name])
            self.read_until, self.stretch = end, self.stretch * 4
        return self.known.get(day, 0) >= self.calendar.capacity(day)


def _free_in_day(calendar: DomainCalendar, day: date, now: datetime) -> datetime | None:
    """The first free slot of `day` from `now` on, from that day's bookings alone."""
    slots = calendar.slots(day)
    if not slots or slots[-1] < now:
        return None
    interval = calendar.interval
    start = max(now, slots[0])
    since, until = start - interval, slots[-1] + interval
    name = calendar.spec.name
    taken = list(
        db.session.execute(
            sa.select(Message.scheduled_at).where(
                Message.domain_used == name,
                Message.status.in_(LIVE),
                Message.scheduled_at >= since,
                Message.scheduled_at < until,
            )
        ).scalars()
    )
    if since <= now:
        taken.extend(recent_sends(calendar, since, until, now))
    moment = SlotCursor(calendar, [t for t in taken if t is not None], start).peek()
    return moment if calendar.local_date(moment) == day else None


def recent_sends(
    calendar: DomainCalendar, since: datetime, until: datetime, now: datetime
) -> list[datetime]:
    """Mail of the domain sent in [since, until): it keeps its distance to new slots.

    Read through the (domain, slot) index: a mail goes at or after its slot, so only
    slots of the last day are looked at, and the domain's pace gate (`last_sent_at`, the
    start of its latest send) stands in for a mail that went more than a day late.
    """
    name = calendar.spec.name
    found = [
        at
        for at in db.session.execute(
            sa.select(Message.sent_at).where(
                Message.domain_used == name,
                Message.scheduled_at >= now - LATE_SEND_LOOKBACK,
                Message.scheduled_at < until,
                Message.sent_at >= since,
                Message.sent_at < until,
            )
        ).scalars()
        if at is not None
    ]
    gate = db.session.execute(
        sa.select(SendingDomain.last_sent_at).where(SendingDomain.name == name)
    ).scalar()
    if gate is not None and since <= gate < until and gate not in found:
        found.append(gate)
    return found
