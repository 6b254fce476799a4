"""Daily caps and warm-up ramps: how many mails each day of a capped domain carries already.

The planner bounds a day by its allowance (`DomainCalendar.allowance`), counting what the
day holds besides the plan being made: mail sent or in flight that day, and other
campaigns' queued mail. For a domain whose days are the booking summary's that is one
grouped read of `domain_booking_days` (its `planned` counts every message that is not
canceled, on the day it went or goes), less the campaign's own queued mail, which is what
gets planned. A domain in another time zone is counted from its messages.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import DomainBookingDay, Message, MessageStatus
from webapp.services.planning.bookings import summary_zone_fits
from webapp.services.planning.slots import DomainCalendar, DomainSpec

# A mail goes at or after its slot; one sent more than this after it is not looked for.
LATE_SEND_LOOKBACK = timedelta(days=1)

Usage = dict[str, dict[date, int]]


def day_usage(specs: list[DomainSpec], now: datetime, campaign_id: str | None = None) -> Usage:
    """Per capped or ramped domain, the mails on each local day from today on that a new
    plan of `campaign_id` does not move (its own queued mail is left out)."""
    limited = [s for s in specs if s.limited]
    usage: Usage = {s.name: {} for s in limited}
    if not limited:
        return usage
    calendars = {s.name: DomainCalendar(s) for s in limited}
    today = {name: calendar.local_date(now) for name, calendar in calendars.items()}
    fits = [s.name for s in limited if summary_zone_fits(s.timezone)]
    others = [s.name for s in limited if s.name not in fits]
    if fits:
        _from_summary(fits, min(today[n] for n in fits), campaign_id, usage)
    for name in others:
        _from_messages(calendars[name], today[name], campaign_id, usage[name])
    for name in usage:
        usage[name] = {d: n for d, n in usage[name].items() if d >= today[name] and n > 0}
    return usage


def _from_summary(names: list[str], first: date, campaign_id: str | None, usage: Usage) -> None:
    rows = db.session.execute(
        sa.select(
            DomainBookingDay.domain_used,
            DomainBookingDay.day,
            DomainBookingDay.campaign_id,
            DomainBookingDay.live,
            DomainBookingDay.planned,
        ).where(
            DomainBookingDay.domain_used.in_(names),
            DomainBookingDay.day >= first,
            DomainBookingDay.planned > 0,
        )
    )
    for name, day, owner, live, planned in rows:
        # The campaign's own queued and in-flight mail is `live`: its queued part is what
        # gets planned; its in-flight part is added back below.
        count = int(planned) - (int(live) if owner == campaign_id else 0)
        usage[name][day] = usage[name].get(day, 0) + count
    if campaign_id is None:
        return
    calendars: dict[str, DomainCalendar] = {}
    for name, at in db.session.execute(
        sa.select(Message.domain_used, Message.scheduled_at).where(
            Message.campaign_id == campaign_id,
            Message.status == MessageStatus.SENDING,
            Message.domain_used.in_(names),
        )
    ):
        calendar = calendars.setdefault(name, DomainCalendar(DomainSpec(name)))
        day = calendar.local_date(at)
        usage[name][day] = usage[name].get(day, 0) + 1


def _from_messages(
    calendar: DomainCalendar, today: date, campaign_id: str | None, found: dict[date, int]
) -> None:
    start = calendar.day_start(today)
    rows = db.session.execute(
        sa.select(Message.scheduled_at, Message.sent_at, Message.status, Message.campaign_id).where(
            Message.domain_used == calendar.spec.name,
            Message.status != MessageStatus.CANCELED,
            sa.or_(Message.scheduled_at >= start - LATE_SEND_LOOKBACK, Message.sent_at >= start),
        )
    )
    counts: dict[date, int] = defaultdict(int)
    for scheduled_at, sent_at, status, owner in rows:
        if owner == campaign_id and status == MessageStatus.QUEUED:
            continue
        counts[calendar.local_date(sent_at or scheduled_at)] += 1
    found.update(counts)


def pace_line(spec: DomainSpec) -> dict[str, int | bool | None] | None:
    """The warm-up settings the dry run and availability show, None without cap or ramp;
    `ramp_waits`: the ramp starts with the domain's first mail sent."""
    if not spec.limited:
        return None
    return {
        "daily_cap": spec.daily_cap,
        "ramp_start": spec.ramp_start,
        "ramp_step": spec.ramp_step if spec.ramp_start is not None else None,
        "ramp_waits": spec.ramp_start is not None
        and (spec.ramp_waits or spec.ramp_started_on is None),
    }


def slots_line(calendar: DomainCalendar, now: datetime) -> dict[str, int | None]:
    """What a day of the domain holds, as the domains list and availability both show it:
    the window's slots (an ordinary day), and under a cap or ramp the cap and today's
    allowance (None where there is none), so the two numbers are never taken for one."""
    spec = calendar.spec
    return {
        "window": calendar.slots_per_day(),
        "daily_cap": spec.daily_cap,
        "today": (
            calendar.allowance(calendar.local_date(now)) if spec.ramp_start is not None else None
        ),
    }


__all__ = ["Usage", "day_usage", "pace_line", "slots_line"]
