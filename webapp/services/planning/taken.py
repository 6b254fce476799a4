"""What a new plan can collide with, read only as far as the plan reaches.

Reading every future booking of a campaign's domains took 232,000 rows (4.7 s) for a
26,800-lead draft on twelve busy domains. A plan needs the bookings up to one interval past
its last mail, and none of a day the booking summary shows as full (its slots are all
taken: the planner books one mail a slot, on the grid), so `prepare` reads up to a
horizon estimated from the summary, plans, and reads further only when the plan reached
past it (`reaches_past`): the plan is then exactly the one the full read gives.

The one assumption: bookings sit on their domain's grid. A paused campaign keeps its queued
mail where it was when its domain's window or pace changed (it is re-planned on resume), so
a day counted full may then still have a free slot; the plan leaves that slot unused, and
never books a taken one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import DomainBookingDay, Message, MessageStatus, SendingDomain
from webapp.services.planning.bookings import summary_zone_fits
from webapp.services.planning.planner import DomainSpec, PlannedMessage
from webapp.services.planning.slots import DomainCalendar, PlanError

LIVE = (MessageStatus.QUEUED, MessageStatus.SENDING)
# The first read ahead is at least this long; each further read is twice as long.
FIRST_HORIZON = timedelta(days=7)
# Past this the rest is read in one go (a plan this long is rare and slow anyway).
LAST_HORIZON = timedelta(days=4 * 366)
# A mail goes at or after its slot; one sent later than this after it is known by its
# domain's pace gate.
LATE_SEND_LOOKBACK = timedelta(days=1)


@dataclass
class Booking:
    """A moment a domain is busy: another campaign's mail, or a mail just sent."""

    at: datetime
    campaign_id: str
    other: bool  # held by another campaign (counted in the dry run's warning)


def recent_sends(
    domains: list[SendingDomain], now: datetime, campaign_id: str | None
) -> dict[str, list[Booking]]:
    """Per domain, the mail sent within its last interval: a new plan keeps its distance.

    Read through the (domain, slot) index: a mail goes at or after its slot, so only slots
    of the last day are looked at (without that bound PostgreSQL read every message of the
    domains, 275,000 rows for twelve busy ones), and the domain's pace gate (`last_sent_at`,
    the start of its latest send) stands in for a mail that went more than a day late.
    """
    interval = {d.name: timedelta(seconds=d.interval_seconds) for d in domains}
    taken: dict[str, list[Booking]] = {name: [] for name in interval}
    if not domains:
        return taken
    rows = db.session.execute(
        sa.select(Message.domain_used, Message.sent_at, Message.campaign_id).where(
            Message.domain_used.in_(list(interval)),
            Message.scheduled_at >= now - LATE_SEND_LOOKBACK,
            # A send starts at most a moment before its slot (the pace gate's margin).
            Message.scheduled_at <= now + max(interval.values()),
            Message.sent_at >= now - max(interval.values()),
        )
    )
    for name, sent_at, owner in rows:
        if sent_at is not None and sent_at >= now - interval[name]:
            taken[name].append(Booking(sent_at, owner, owner != campaign_id))
    for domain in domains:
        gate, found = domain.last_sent_at, taken[domain.name]
        if gate is None or gate < now - interval[domain.name]:
            continue
        if all(b.at != gate for b in found):
            found.append(Booking(gate, "", False))
    return taken


def full_days(
    specs: list[DomainSpec], first: date, last: date, campaign_id: str | None
) -> dict[str, set[date]]:
    """Per domain, the days in [first, last] other campaigns' live mail fills (ordinary
    working days of domains whose days are the summary's)."""
    names = [s.name for s in specs if summary_zone_fits(s.timezone)]
    found: dict[str, set[date]] = {s.name: set() for s in specs}
    if not names:
        return found
    conditions = [
        DomainBookingDay.domain_used.in_(names),
        DomainBookingDay.day >= first,
        DomainBookingDay.day <= last,
        DomainBookingDay.live > 0,
    ]
    if campaign_id is not None:
        conditions.append(DomainBookingDay.campaign_id != campaign_id)
    rows = db.session.execute(
        sa.select(
            DomainBookingDay.domain_used, DomainBookingDay.day, sa.func.sum(DomainBookingDay.live)
        )
        .where(*conditions)
        .group_by(DomainBookingDay.domain_used, DomainBookingDay.day)
    )
    calendars = {s.name: DomainCalendar(s) for s in specs}
    for name, day, live in rows:
        calendar = calendars[name]
        capacity = calendar.day_limit(day)  # a cap or ramp fills a day sooner
        if capacity and int(live) >= capacity and calendar.is_ordinary(day):
            found[name].add(day)
    return found


def taken_times(
    specs: list[DomainSpec],
    recent: dict[str, list[Booking]],
    now: datetime,
    until: datetime | None,
    campaign_id: str | None,
) -> dict[str, list[datetime]]:
    """Per domain, every moment a new plan must keep its distance to, up to `until` (all
    when None): recent sends, other campaigns' live mail, and the slots of full days."""
    times = {s.name: [b.at for b in recent.get(s.name, [])] for s in specs}
    if not specs:
        return times
    since = now - max(timedelta(seconds=s.interval_seconds) for s in specs)
    calendars = {s.name: DomainCalendar(s) for s in specs}
    full: dict[str, set[date]] = {s.name: set() for s in specs}
    if until is not None:
        full = full_days(
            specs, min(c.local_date(since) for c in calendars.values()),
            max(c.local_date(until) for c in calendars.values()), campaign_id,
        )  # fmt: skip
    for spec in specs:
        calendar = calendars[spec.name]
        spans = []
        for low, high in _open_spans(calendar, full[spec.name], since, until):
            condition = [Message.scheduled_at >= low]
            if high is not None:
                condition.append(Message.scheduled_at < high)
            spans.append(sa.and_(*condition))
        for day in full[spec.name]:
            times[spec.name].extend(calendar.slots(day))
        # One statement a domain: over all of them at once PostgreSQL ANDed a bitmap of
        # every live message (400,000) with the ranges instead of walking the ranges of
        # the (domain, slot) index.
        rows = db.session.execute(
            sa.select(Message.scheduled_at, Message.status, Message.campaign_id).where(
                Message.domain_used == spec.name, Message.status.in_(LIVE), sa.or_(*spans)
            )
        )
        for scheduled_at, status, owner in rows:
            if not (owner == campaign_id and status == MessageStatus.QUEUED):
                times[spec.name].append(scheduled_at)
    for moments in times.values():
        moments.sort()
    return times


def _open_spans(
    calendar: DomainCalendar, full: set[date], since: datetime, until: datetime | None
) -> list[tuple[datetime, datetime | None]]:
    """[since, until) without the full days, as half-open ranges of instants."""
    spans: list[tuple[datetime, datetime | None]] = []
    low = since
    for day in sorted(full):
        start, end = calendar.day_start(day), calendar.day_start(day + timedelta(days=1))
        if start > low:
            spans.append((low, start))
        low = max(low, end)
    if until is None or low < until:
        spans.append((low, until))
    return spans


def first_horizon(
    specs: list[DomainSpec], start: datetime, needed: int, steps: int, wait_days: int
) -> datetime:
    """How far the plan likely reaches: the day the domains' free capacity (by the summary)
    holds every mail, plus the follow-ups' waits; a guess that `reaches_past` checks."""
    active = [s for s in specs if not s.paused]
    if not active:
        return start + FIRST_HORIZON
    calendars = [DomainCalendar(s) for s in active]
    first = min(c.local_date(start) for c in calendars)
    names = [s.name for s in active if summary_zone_fits(s.timezone)]
    live: dict[tuple[str, date], int] = {}
    if names:
        rows = db.session.execute(
            sa.select(
                DomainBookingDay.domain_used,
                DomainBookingDay.day,
                sa.func.sum(DomainBookingDay.live),
            )
            .where(
                DomainBookingDay.domain_used.in_(names),
                DomainBookingDay.day >= first,
                DomainBookingDay.day <= first + LAST_HORIZON,
                DomainBookingDay.live > 0,
            )
            .group_by(DomainBookingDay.domain_used, DomainBookingDay.day)
        )
        live = {(name, day): int(count) for name, day, count in rows}
    remaining, day = needed, first
    while remaining > 0 and day <= first + LAST_HORIZON:
        for calendar in calendars:
            free = calendar.day_limit(day) - live.get((calendar.spec.name, day), 0)
            remaining -= max(0, free)
        day += timedelta(days=1)
    # `wait_days` working days in all between a lead's mails, as calendar days with room.
    waits = timedelta(days=wait_days * 7 // 5 + (max(1, steps) - 1) * 3)
    reach = datetime.combine(day, start.timetz()) + waits + timedelta(days=1)
    return max(start + FIRST_HORIZON, reach)


def reaches_past(messages: list[PlannedMessage], specs: list[DomainSpec], until: datetime) -> bool:
    """Whether a plan made from the bookings before `until` could have met one after it:
    a mail closer than its domain's interval to `until`."""
    interval = {s.name: timedelta(seconds=s.interval_seconds) for s in specs}
    return any(m.scheduled_at + interval[m.domain] > until for m in messages)


def next_horizon(start: datetime, until: datetime) -> datetime | None:
    """The next read ahead: twice as far from the start, or everything (None)."""
    farther = start + 2 * (until - start)
    return None if farther - start > LAST_HORIZON else farther


__all__ = [
    "LIVE",
    "Booking",
    "PlanError",
    "first_horizon",
    "full_days",
    "next_horizon",
    "reaches_past",
    "recent_sends",
    "taken_times",
]
