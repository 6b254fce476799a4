"""A started campaign's plan as written, told by the summaries instead of its messages.

`campaign_kpis` gives the messages per mail number and domain, `domain_booking_days` the
messages per domain and day, and only the messages of a domain's first and last day are
read (through the (domain, slot) index) for its first and last slot. The dry run of a
campaign with 100,000 messages so reads a few hundred rows, not 100,000.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import CampaignKpi, DomainBookingDay, Message, MessageStatus
from webapp.services.planning.bookings import TIMEZONE, planned_per_day, summary_zone_fits
from webapp.services.planning.caps import pace_line
from webapp.services.planning.plans import (
    LIVE,
    PlanRequest,
    Prepared,
    load_domains,
    plannable_lead_ids,
)
from webapp.services.planning.slots import DomainCalendar
from webapp.services.planning.taken import recent_sends

# A mail goes at or after its slot; one sent later than this after it is looked for the
# slow way (its domain's messages in full).
LATE_SEND_LOOKBACK = timedelta(days=1)


@dataclass
class WrittenPlan:
    prepared: Prepared
    total: int
    finishes_at: datetime | None
    per_domain: list[dict[str, Any]] = field(default_factory=list)
    per_day: list[dict[str, Any]] = field(default_factory=list)
    taken: list[tuple[str, int, int]] = field(default_factory=list)


def summarise_written(
    campaign_id: str,
    request: PlanRequest,
    now: datetime,
    lead_ids: list[str] | None = None,
    skipped: int | None = None,
) -> WrittenPlan | None:
    """The written plan's figures, or None when the summaries cannot tell them
    (`lead_ids`: the request's plannable leads, when read already; `skipped`: how many of
    the audience were not plannable when it started, instead of reading them now)."""
    planned = planned_per_day(campaign_id)
    if not planned:
        return None
    domains, unknown = load_domains(request.domains)
    if not all(summary_zone_fits(d.timezone) for d in domains):
        return None
    if skipped is not None:
        lead_ids = []
    elif lead_ids is None:
        lead_ids = plannable_lead_ids(request.lead_ids)
    if skipped is None:
        skipped = len(set(request.lead_ids)) - len(lead_ids)
    start = max(request.start_at or now, now)
    prepared = Prepared(request, domains, unknown, {}, lead_ids, skipped, start)
    calendars = {spec.name: DomainCalendar(spec) for spec in prepared.specs}
    kpis = list(
        db.session.execute(sa.select(CampaignKpi).where(CampaignKpi.campaign_id == campaign_id))
        .scalars()
        .all()
    )
    days: dict[str, list[date]] = defaultdict(list)
    for (name, day), count in planned.items():
        if count:
            days[name].append(day)
    total = sum(planned.values())
    bounds = {name: _bounds(campaign_id, name, sorted(d)) for name, d in days.items()}
    last_overall = max((b[1] for b in bounds.values()), default=None)
    result = WrittenPlan(prepared, total, last_overall)
    order = {name: i for i, name in enumerate(calendars)}
    recent = recent_sends(domains, now, campaign_id) if last_overall is not None else {}
    for name, calendar in calendars.items():
        rows = [k for k in kpis if k.domain_used == name]
        messages = sum(k.planned for k in rows)
        if not messages and calendar.spec.paused:
            continue
        first, last = bounds.get(name, (None, None))
        numbers = {k.mail_number: k.planned for k in rows if k.planned}
        result.per_domain.append(
            {
                "domain": name,
                "label": calendar.spec.label,
                "leads": _leads(campaign_id, name, rows),
                "messages": messages,
                "by_mail_number": {str(n): numbers[n] for n in sorted(numbers)},
                "first_slot": first,
                "last_slot": last,
                "days_needed": (
                    calendar.working_days_between(
                        calendar.local_date(first), calendar.local_date(last)
                    )
                    if first and last
                    else 0
                ),
                "warm_up": pace_line(calendar.spec),
            }
        )
        if last_overall is not None and last_overall >= start:
            name, count, owners = taken_by_others(campaign_id, calendar, start, last_overall)
            # A mail another campaign sent this very moment holds a slot of the plan too.
            sent = [b for b in recent.get(name, []) if b.other and start <= b.at <= last_overall]
            owners |= {b.campaign_id for b in sent}
            result.taken.append((name, count + len(sent), len(owners)))
    result.per_day = [
        {"date": day.isoformat(), "domain": name, "messages": count}
        for (name, day), count in sorted(
            ((k, v) for k, v in planned.items() if k[0] in calendars and v),
            key=lambda i: (i[0][1], order[i[0][0]]),
        )
    ]
    result.taken = [t for t in result.taken if t[1]]
    return result


def _went(message: Any) -> Any:
    return sa.func.coalesce(Message.sent_at, Message.scheduled_at)


def _bounds(campaign_id: str, name: str, days: list[date]) -> tuple[datetime, datetime]:
    """The first and last moment a planned mail of the campaign goes (went) on the domain."""
    first = _edge(campaign_id, name, days[0], sa.func.min)
    last = _edge(campaign_id, name, days[-1], sa.func.max)
    if first is None or last is None:  # a mail sent long after its slot: read them all
        row = db.session.execute(
            sa.select(sa.func.min(_went(Message)), sa.func.max(_went(Message))).where(
                Message.campaign_id == campaign_id,
                Message.domain_used == name,
                Message.status != MessageStatus.CANCELED,
            )
        ).one()
        first, last = first or row[0], last or row[1]
    return first, last


def _edge(campaign_id: str, name: str, day: date, pick: Any) -> datetime | None:
    calendar_start = _day_start(day)
    calendar_end = _day_start(day + timedelta(days=1))
    went = _went(Message)
    value: datetime | None = db.session.execute(
        sa.select(pick(went)).where(
            Message.domain_used == name,
            Message.scheduled_at >= calendar_start - LATE_SEND_LOOKBACK,
            Message.scheduled_at < calendar_end,
            Message.campaign_id == campaign_id,
            Message.status != MessageStatus.CANCELED,
            went >= calendar_start,
            went < calendar_end,
        )
    ).scalar()
    return value


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), ZoneInfo(TIMEZONE)).astimezone(UTC)


def _leads(campaign_id: str, name: str, rows: list[CampaignKpi]) -> int:
    """Leads with a planned mail on the domain: those whose first mail is planned, and
    those whose first mail was canceled while a later one is not (rare: read just them)."""
    first = next((k for k in rows if k.mail_number == 1), None)
    leads = first.planned if first else 0
    if first is not None and first.canceled and any(k.planned for k in rows if k.mail_number > 1):
        later = sa.orm.aliased(Message)
        leads += int(
            db.session.execute(
                sa.select(sa.func.count(sa.distinct(Message.lead_id))).where(
                    Message.campaign_id == campaign_id,
                    Message.domain_used == name,
                    Message.mail_number == 1,
                    Message.status == MessageStatus.CANCELED,
                    sa.exists().where(
                        later.campaign_id == campaign_id,
                        later.lead_id == Message.lead_id,
                        later.mail_number > 1,
                        later.status != MessageStatus.CANCELED,
                    ),
                )
            ).scalar()
            or 0
        )
    return leads


def taken_by_others(
    campaign_id: str | None, calendar: DomainCalendar, first: datetime, last: datetime
) -> tuple[str, int, set[str]]:
    """Other campaigns' live bookings on the domain in [first, last], and the campaigns
    that hold them: whole days from the summary, the two edge days from messages (a domain
    whose days are not the summary's: all from messages)."""
    name = calendar.spec.name
    if not summary_zone_fits(calendar.spec.timezone):
        owners = db.session.execute(
            sa.select(Message.campaign_id).where(
                Message.domain_used == name,
                Message.scheduled_at >= first,
                Message.scheduled_at <= last,
                Message.status.in_(LIVE),
                Message.campaign_id != campaign_id,
            )
        ).scalars()
        held = list(owners)
        return name, len(held), set(held)
    first_day, last_day = calendar.local_date(first), calendar.local_date(last)
    campaigns: set[str] = set()
    count = 0
    if last_day > first_day + timedelta(days=1):
        rows = db.session.execute(
            sa.select(DomainBookingDay.campaign_id, DomainBookingDay.live).where(
                DomainBookingDay.domain_used == name,
                DomainBookingDay.day > first_day,
                DomainBookingDay.day < last_day,
                DomainBookingDay.campaign_id != campaign_id,
                DomainBookingDay.live > 0,
            )
        )
        for owner, live in rows:
            count += live
            campaigns.add(owner)
    edges = [(first, min(last, calendar.day_start(first_day + timedelta(days=1))))]
    if last_day > first_day:
        edges.append((max(first, calendar.day_start(last_day)), last))
    for low, high in edges:
        owners = db.session.execute(
            sa.select(Message.campaign_id).where(
                Message.domain_used == name,
                Message.scheduled_at >= low,
                Message.scheduled_at <= high,
                Message.status.in_(LIVE),
                Message.campaign_id != campaign_id,
            )
        ).scalars()
        for owner in owners:
            count += 1
            campaigns.add(owner)
    return name, count, campaigns
