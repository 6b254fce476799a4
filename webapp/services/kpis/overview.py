"""Headline counts for the dashboard."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import (
    Campaign,
    CampaignKpi,
    CampaignKpiDay,
    CampaignStatus,
    Lead,
    Message,
    MessageEvent,
    SendingDomain,
    Suppression,
    Template,
)
from webapp.models.kpis import COUNTERS
from webapp.services.domains import slots_per_day
from webapp.services.kpis.summaries import TIMEZONE, figures
from webapp.services.planning import (
    DomainCalendar,
    domain_spec,
    list_domains,
    live_per_campaign_day,
    live_per_day,
    with_ramp_start,
)


def overview_counts() -> dict[str, int]:
    """How much is in the system: one round trip to the database."""
    row = db.session.execute(
        sa.select(
            sa.select(sa.func.count())
            .select_from(Lead)
            .where(Lead.deleted_at.is_(None))
            .scalar_subquery()
            .label("leads"),
            sa.select(sa.func.count())
            .select_from(Suppression)
            .scalar_subquery()
            .label("suppressions"),
            sa.select(sa.func.count()).select_from(Template).scalar_subquery().label("templates"),
            sa.select(sa.func.count()).select_from(Campaign).scalar_subquery().label("campaigns"),
            sa.select(sa.func.count())
            .select_from(Campaign)
            .where(Campaign.status == CampaignStatus.RUNNING)
            .scalar_subquery()
            .label("running"),
            sa.select(sa.func.count())
            .select_from(SendingDomain)
            .where(SendingDomain.paused.is_(False))
            .scalar_subquery()
            .label("domains"),
        )
    ).one()
    return dict(row._mapping)


# -- the manager's overview: every campaign, today's sends, recent events, the calendar --

# The calendar draws a window of whole weeks from a Monday: this week (so it opens on
# today) and the next; earlier and later windows are loaded on demand. Three weeks of 200
# domains were 400 KB of HTML.
CALENDAR_WEEKS = 2
RECENT_EVENTS = 15


def campaign_overview() -> list[dict[str, Any]]:
    """Every campaign, newest first, with its status and headline figures (from the summary)."""
    sums = [sa.func.coalesce(sa.func.sum(getattr(CampaignKpi, c)), 0).label(c) for c in COUNTERS]
    rows = db.session.execute(
        sa.select(Campaign.id, Campaign.name, Campaign.status, *sums)
        .outerjoin(CampaignKpi, CampaignKpi.campaign_id == Campaign.id)
        .group_by(Campaign.id, Campaign.name, Campaign.status, Campaign.created_at)
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    )
    result = []
    for row in rows:
        counts = {c: int(getattr(row, c)) for c in COUNTERS}
        result.append(
            {"id": row.id, "name": row.name, "status": row.status, **counts, **figures(counts)}
        )
    return result


def _amsterdam_today(now: datetime) -> date:
    return now.astimezone(ZoneInfo(TIMEZONE)).date()


def todays_sends(now: datetime) -> list[dict[str, Any]]:
    """Per sending domain: sent today (Amsterdam day), still queued for today, and today's
    capacity: the mails the day may carry (`day_limit`: its slots, bounded by a daily cap
    or warm-up ramp), the number the planner and availability keep it to."""
    today = _amsterdam_today(now)
    sent = dict(
        db.session.execute(
            sa.select(CampaignKpiDay.domain_used, sa.func.sum(CampaignKpiDay.sent))
            .where(CampaignKpiDay.day == today)
            .group_by(CampaignKpiDay.domain_used)
        ).all()
    )
    domains = list_domains()
    # Live messages per domain on today's Amsterdam day: the booking summary's days.
    queued = live_per_day([d.name for d in domains], today, today)
    result = []
    for domain in domains:
        calendar = DomainCalendar(with_ramp_start(domain_spec(domain), now))
        capacity = calendar.day_limit(calendar.local_date(now))
        done = int(sent.get(domain.name) or 0)
        result.append(
            {
                "domain": domain.name,
                "label": domain.label,
                "paused": domain.paused,
                "sent": done,
                "queued": queued[domain.name].get(today, 0),
                "capacity": capacity,
                "slots_per_day": slots_per_day(domain),
                "percent": round(100 * done / capacity) if capacity else None,
            }
        )
    return result


def recent_events(limit: int = RECENT_EVENTS) -> list[dict[str, Any]]:
    """The newest message events, with their campaign and the lead's address."""
    rows = db.session.execute(
        sa.select(
            MessageEvent.id,
            MessageEvent.event_type,
            MessageEvent.created_at,
            MessageEvent.meta,
            Message.mail_number,
            Message.domain_used,
            Campaign.id.label("campaign_id"),
            Campaign.name.label("campaign_name"),
            Lead.email,
        )
        .join(Message, Message.id == MessageEvent.message_id)
        .join(Campaign, Campaign.id == Message.campaign_id)
        .join(Lead, Lead.id == Message.lead_id)
        .order_by(MessageEvent.created_at.desc(), MessageEvent.id.desc())
        .limit(limit)
    )
    return [{**row._mapping, "machine": bool((row.meta or {}).get("machine"))} for row in rows]


def campaign_calendar(now: datetime, week_of: date | None = None) -> dict[str, Any]:
    """Which campaign sends from which domain on which Amsterdam day, for the window of weeks
    from the one holding `week_of` (this week by default): past days sent, today and later
    queued; `earlier` and `later` are the Mondays of the windows before and after it."""
    today = _amsterdam_today(now)
    first = (week_of or today) - timedelta(days=(week_of or today).weekday())
    days = [first + timedelta(days=k) for k in range(7 * CALENDAR_WEEKS)]
    cells: dict[tuple[str, date], dict[str, int]] = {}
    names = dict(db.session.execute(sa.select(Campaign.id, Campaign.name)).all())
    past = db.session.execute(
        sa.select(
            CampaignKpiDay.campaign_id,
            CampaignKpiDay.domain_used,
            CampaignKpiDay.day,
            CampaignKpiDay.sent,
        ).where(
            CampaignKpiDay.day >= days[0],
            CampaignKpiDay.day <= min(today, days[-1]),
            CampaignKpiDay.sent > 0,
        )
    )
    for campaign_id, domain, day, sent in past:
        cell = cells.setdefault((domain, day), {})
        cell[campaign_id] = cell.get(campaign_id, 0) + int(sent)
    # Today and later: the booking summary's live messages (its days are Amsterdam days).
    if days[-1] >= today:
        for campaign_id, domain, day, live in live_per_campaign_day(max(today, days[0]), days[-1]):
            cell = cells.setdefault((domain, day), {})
            cell[campaign_id] = cell.get(campaign_id, 0) + live
    domains = [d.name for d in list_domains()]
    domains += sorted({domain for domain, _ in cells} - set(domains))
    return {
        "today": today.isoformat(),
        "days": [d.isoformat() for d in days],
        "this_week": (today - timedelta(days=today.weekday())).isoformat(),
        "earlier": (first - timedelta(days=len(days))).isoformat(),
        "later": (first + timedelta(days=len(days))).isoformat(),
        "rows": [
            {
                "domain": domain,
                "cells": [
                    [
                        {"campaign_id": cid, "name": names.get(cid, cid), "messages": n}
                        for cid, n in sorted(
                            cells.get((domain, day), {}).items(), key=lambda i: names.get(i[0], "")
                        )
                    ]
                    for day in days
                ],
            }
            for domain in domains
        ],
    }
