"""Domain availability: how full each sending domain is over the next 14 working days.

Each day counts what it holds (mail sent or in flight that day, and queued for it) from the
booking summary (`planning.bookings`), capacities (slots, bounded by a cap or ramp) from the
calendar's arithmetic, and the next free slot from the bookings of the first day that is
not full: nothing reads every future booking or builds every slot of every day.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Message, MessageStatus, SendingDomain
from webapp.services.planning.bookings import (
    live_per_day,
    sent_or_booked_per_day,
    summary_zone_fits,
)
from webapp.services.planning.caps import day_usage, pace_line, slots_line
from webapp.services.planning.plans import (
    LIVE,
    domain_spec,
    list_domains,
    running_campaign_counts,
)
from webapp.services.planning.report import iso
from webapp.services.planning.slots import (
    HORIZON_DAYS,
    DomainCalendar,
    PlanError,
    SlotCursor,
    with_ramp_start,
)

DAYS_AHEAD = 14
# How many days ahead the first look for a day that is not full reads; each further look
# reads four times as many.
_FIRST_LOOK = 16
# How late after its slot a sent mail is still looked for by its slot.
LATE_SEND_LOOKBACK = timedelta(days=1)
# Slots of bookings read at first when looking for a domain's first free slot in a day.
FREE_SLOT_STRETCH = 32


def working_days_ahead(calendar: DomainCalendar, now: datetime, count: int) -> list[date]:
    """Today (if it is a working day) and the working days after it, `count` in all."""
    days = [calendar.next_working_day(calendar.local_date(now))]
    while len(days) < count:
        days.append(calendar.next_working_day(days[-1] + timedelta(days=1)))
    return days


def domain_availability(
    now: datetime, domains: list[SendingDomain] | None = None
) -> list[dict[str, Any]]:
    """One entry per domain, ordered by label (docs/interfaces.md); only `domains` (a page
    of `list_domains()`) when given."""
    if domains is None:
        domains = list_domains()
    if not domains:
        return []
    counts = running_campaign_counts()
    # A ramp waiting for the domain's first mail starts with the first that can go now.
    calendars = {d.name: DomainCalendar(with_ramp_start(domain_spec(d), now)) for d in domains}
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
                "capacity_per_day": _capacity_per_day(calendar),
                "slots": slots_line(calendar, now),
                "booked": {d.isoformat(): per_day.get(d, 0) for d in days[domain.name]},
                "capacity": {d.isoformat(): calendar.day_limit(d) for d in days[domain.name]},
                "warm_up": pace_line(calendar.spec),
                "next_free_slot": None if domain.paused else iso(free.get(domain.name)),
                "paused": domain.paused,
            }
        )
    return result


def slot_lines(domains: list[SendingDomain], now: datetime) -> dict[str, dict[str, int | None]]:
    """Per domain, its slots a day as availability shows them (`caps.slots_line`)."""
    return {
        d.name: slots_line(DomainCalendar(with_ramp_start(domain_spec(d), now)), now)
        for d in domains
    }


def _capacity_per_day(calendar: DomainCalendar) -> int:
    """Slots of an ordinary day, or the daily cap when that is lower (a ramp shows per day)."""
    cap = calendar.spec.daily_cap
    slots = calendar.slots_per_day()
    return slots if cap is None else min(slots, cap)


def _booked(
    domains: list[SendingDomain],
    calendars: dict[str, DomainCalendar],
    days: dict[str, list[date]],
) -> dict[str, dict[date, int]]:
    """What each day of a domain holds: mail sent or in flight that day and mail queued for
    it, every campaign (`caps`' count, the one the planner keeps a day's allowance with):
    from the summary when the domain's days are the summary's days, else from the domain's
    own messages over its 14 days."""
    fits = [d.name for d in domains if summary_zone_fits(d.timezone) and days[d.name]]
    others = [d.name for d in domains if d.name not in fits and days[d.name]]
    booked: dict[str, dict[date, int]] = {d.name: {} for d in domains}
    if fits:
        first = min(days[n][0] for n in fits)
        last = max(days[n][-1] for n in fits)
        booked.update(sent_or_booked_per_day(fits, first, last))
    for name in others:
        calendar = calendars[name]
        start = calendar.day_start(days[name][0])
        end = calendar.day_start(days[name][-1] + timedelta(days=1))
        rows = db.session.execute(
            sa.select(Message.scheduled_at, Message.sent_at).where(
                Message.domain_used == name,
                Message.status != MessageStatus.CANCELED,
                sa.or_(
                    sa.and_(Message.scheduled_at >= start, Message.scheduled_at < end),
                    sa.and_(Message.sent_at >= start, Message.sent_at < end),
                ),
            )
        )
        booked[name] = dict(Counter(calendar.local_date(sent or at) for at, sent in rows))
    return booked


def _next_free_slots(
    domains: list[SendingDomain], calendars: dict[str, DomainCalendar], now: datetime
) -> dict[str, datetime]:
    """Per domain, its first free slot from `now` on (absent when there is none).

    Today is always read (mail overdue or just sent counts differently there). A later
    day whose live bookings fill its capacity is full: the planner books one message a
    slot, on the grid. Any other day is read, and the cursor looks for a slot in it. The
    domains are looked at together: one read of bookings per day looked at, not one per
    domain and day (200 domains made 600 round trips).
    """
    # A day of a domain under a cap or ramp counts what went or is booked, as the planner does.
    used = day_usage([calendars[d.name].spec for d in domains], now)
    full = _FullDays(calendars, [d.name for d in domains], now, used)
    gates = {d.name: d.last_sent_at for d in domains}
    looking: dict[str, date] = {}
    for domain in domains:
        calendar = calendars[domain.name]
        today = calendar.local_date(now)
        try:
            first = calendar.next_working_day(today)
        except PlanError:
            continue
        spent = used.get(domain.name, {}).get(today, 0) >= calendar.day_limit(today)
        if first == today and spent:
            first = calendar.next_working_day(today + timedelta(days=1))
        day = first if first == today else full.next_open(domain.name, first)
        if day is not None:
            looking[domain.name] = day
    found: dict[str, datetime] = {}
    while looking:
        by_day: dict[date, list[str]] = defaultdict(list)
        for name, day in looking.items():
            by_day[day].append(name)
        for day, names in by_day.items():
            moments = _free_in_day(day, [calendars[n] for n in names], gates, now)
            for name in names:
                moment = moments.get(name)
                if moment is not None:
                    found[name] = moment
                    del looking[name]
                    continue
                try:
                    later = full.next_open(name, day + timedelta(days=1))
                except PlanError:
                    later = None
                if later is None:
                    del looking[name]
                else:
                    looking[name] = later
    return found


class _FullDays:
    """Tells whether a domain's day is full by the summary, reading it ahead in growing
    stretches: the first for every domain at once, further ones per domain (a domain in
    another time zone has no summary days: each of its days is read)."""

    def __init__(
        self,
        calendars: dict[str, DomainCalendar],
        names: list[str],
        now: datetime,
        used: dict[str, dict[date, int]],
    ):
        self.calendars = calendars
        self.used = used
        self.first = {n: calendars[n].local_date(now) for n in names}
        self.fits = {n for n in names if summary_zone_fits(calendars[n].spec.timezone)}
        self.read_until: dict[str, date] = {}
        self.stretch: dict[str, int] = {}
        self.known: dict[str, dict[date, int]] = {n: {} for n in names}
        if self.fits:
            start = min(self.first[n] for n in self.fits)
            end = start + timedelta(days=_FIRST_LOOK)
            for name, days in live_per_day(sorted(self.fits), start, end).items():
                self.known[name].update(days)
                self.read_until[name], self.stretch[name] = end, _FIRST_LOOK * 4

    def limit(self, name: str) -> date:
        return self.first[name] + timedelta(days=HORIZON_DAYS)

    def is_full(self, name: str, day: date) -> bool:
        if name in self.used:  # capped: every day's mail is known already
            return self.used[name].get(day, 0) >= self.calendars[name].day_limit(day)
        if name not in self.fits:
            return False
        limit = self.limit(name)
        while day > self.read_until[name] and self.read_until[name] < limit:
            start = self.read_until[name] + timedelta(days=1)
            end = min(limit, start + timedelta(days=self.stretch[name]))
            self.known[name].update(live_per_day([name], start, end)[name])
            self.read_until[name], self.stretch[name] = end, self.stretch[name] * 4
        return self.known[name].get(day, 0) >= self.calendars[name].day_limit(day)

    def next_open(self, name: str, day: date) -> date | None:
        """The first working day from `day` on that is not full (None past the horizon)."""
        calendar = self.calendars[name]
        day = calendar.next_working_day(day)
        while day <= self.limit(name) and self.is_full(name, day):
            day = calendar.next_working_day(day + timedelta(days=1))
        return day if day <= self.limit(name) else None


def _free_in_day(
    day: date,
    calendars: list[DomainCalendar],
    gates: dict[str, datetime | None],
    now: datetime,
) -> dict[str, datetime]:
    """Each domain's first free slot of `day` from `now` on, from that day's bookings
    alone (read for all the domains at once).

    The bookings are read from the start on in growing stretches, not the whole day: a
    domain at a 60-second pace holds 540 bookings on a full day, and its first free slot
    is usually among the first few. A slot found is sure once the bookings up to an
    interval past it are read (one closer than that could take it).
    """
    spans: dict[str, tuple[datetime, datetime, datetime]] = {}
    for calendar in calendars:
        slots = calendar.slots(day)
        if slots and slots[-1] >= now:
            start = max(now, slots[0])
            spans[calendar.spec.name] = (
                start,
                start - calendar.interval,
                slots[-1] + calendar.interval,
            )
    if not spans:
        return {}
    by_name = {calendar.spec.name: calendar for calendar in calendars}
    taken: dict[str, list[datetime]] = {name: [] for name in spans}
    recent = [name for name, (_, since, _) in spans.items() if since <= now]
    for name, at in recent_sends(recent, spans, gates, now):
        taken[name].append(at)
    read_from = {name: since for name, (_, since, _) in spans.items()}
    reach = {
        name: min(until, start + FREE_SLOT_STRETCH * by_name[name].interval)
        for name, (start, _, until) in spans.items()
    }
    found: dict[str, datetime] = {}
    pending = set(spans)
    while pending:
        # Domains of one pace share their stretch: one read per stretch, not per domain.
        stretches: dict[tuple[datetime, datetime], list[str]] = defaultdict(list)
        for name in sorted(pending):
            stretches[(read_from[name], reach[name])].append(name)
        rows = [
            row
            for (low, high), names in stretches.items()
            for row in db.session.execute(
                sa.select(Message.domain_used, Message.scheduled_at).where(
                    Message.domain_used.in_(names),
                    Message.status.in_(LIVE),
                    Message.scheduled_at >= low,
                    Message.scheduled_at < high,
                )
            )
        ]
        for name, at in rows:
            taken[name].append(at)
        for name in sorted(pending):
            calendar = by_name[name]
            start, _, until = spans[name]
            try:
                moment = SlotCursor(calendar, taken[name], start).peek()
            except PlanError:
                pending.discard(name)
                continue
            if reach[name] < until and moment + calendar.interval > reach[name]:
                read_from[name] = reach[name]  # not sure yet: read the next stretch
                reach[name] = min(until, start + (reach[name] - start) * 4)
                continue
            pending.discard(name)
            if calendar.local_date(moment) == day:
                found[name] = moment
    return found


def recent_sends(
    names: list[str],
    spans: dict[str, tuple[datetime, datetime, datetime]],
    gates: dict[str, datetime | None],
    now: datetime,
) -> list[tuple[str, datetime]]:
    """Mail of each domain sent in its [since, until): it keeps its distance to new slots.

    Read through the (domain, slot) index: a mail goes at or after its slot, so only
    slots of the last day are looked at, and the domain's pace gate (`last_sent_at`, the
    start of its latest send) stands in for a mail that went more than a day late.
    """
    if not names:
        return []
    low = min(spans[n][1] for n in names)
    high = max(spans[n][2] for n in names)
    rows = db.session.execute(
        sa.select(Message.domain_used, Message.scheduled_at, Message.sent_at).where(
            Message.domain_used.in_(names),
            Message.scheduled_at >= now - LATE_SEND_LOOKBACK,
            Message.scheduled_at < high,
            Message.sent_at >= low,
            Message.sent_at < high,
        )
    )
    found: dict[str, list[datetime]] = {name: [] for name in names}
    for name, scheduled_at, sent_at in rows:
        _, since, until = spans[name]
        if sent_at is not None and scheduled_at < until and since <= sent_at < until:
            found[name].append(sent_at)
    for name in names:
        gate = gates.get(name)
        _, since, until = spans[name]
        if gate is not None and since <= gate < until and gate not in found[name]:
            found[name].append(gate)
    return [(name, at) for name, ats in found.items() for at in ats]
