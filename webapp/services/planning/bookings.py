"""The booking summary (`domain_booking_days`, kept by the triggers of migration 0011) and
the plain aggregate over `messages` it must always equal.

Days are Europe/Amsterdam days, as the KPI summaries' are: a domain in another time zone is
read from its messages instead (see `summary_zone_fits`).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import DomainBookingDay

# The zone of the summary's days (the migration's triggers are written for it).
TIMEZONE = "Europe/Amsterdam"

Key = tuple[str, str, str]  # (domain, ISO day, campaign)


def summary_zone_fits(timezone: str) -> bool:
    """Whether a domain's local days are the summary's days."""
    return timezone == TIMEZONE


def day_sql(dialect: str, value: str) -> str:
    """SQL for the Europe/Amsterdam day of a UTC timestamp (the migration's rule, restated)."""
    if dialect == "postgresql":
        return f"((({value}) AT TIME ZONE '{TIMEZONE}')::date)"
    year = f"substr({value}, 1, 4)"
    start = f"datetime({year} || '-03-25', 'weekday 0', '+1 hours')"
    end = f"datetime({year} || '-10-25', 'weekday 0', '+1 hours')"
    return (
        f"date({value}, CASE WHEN {value} >= {start} AND {value} < {end} "
        "THEN '+2 hours' ELSE '+1 hours' END)"
    )


def plain_booking_days_sql(dialect: str) -> str:
    """Per (domain, day, campaign): live and planned messages, straight from `messages`."""
    scheduled = day_sql(dialect, "m.scheduled_at")
    went = day_sql(dialect, "coalesce(m.sent_at, m.scheduled_at)")
    return (
        "SELECT domain_used, day, campaign_id, sum(live) AS live, sum(planned) AS planned FROM ("
        f"SELECT m.domain_used, {scheduled} AS day, m.campaign_id, 1 AS live, 0 AS planned"
        " FROM messages m WHERE m.status IN ('queued', 'sending')"
        f" UNION ALL SELECT m.domain_used, {went} AS day, m.campaign_id, 0 AS live, 1 AS planned"
        " FROM messages m WHERE m.status <> 'canceled') d"
        " GROUP BY domain_used, day, campaign_id"
    )


def plain_booking_days() -> dict[Key, tuple[int, int]]:
    """The plain aggregate the summary must equal, keyed by (domain, ISO day, campaign)."""
    dialect = db.session.get_bind().dialect.name
    rows = db.session.execute(sa.text(plain_booking_days_sql(dialect)))
    return {
        (domain, str(day)[:10], campaign): (int(live), int(planned))
        for domain, day, campaign, live, planned in rows
    }


def summary_booking_days() -> dict[Key, tuple[int, int]]:
    """Every summary row, keyed as `plain_booking_days`."""
    rows = db.session.execute(
        sa.select(
            DomainBookingDay.domain_used,
            DomainBookingDay.day,
            DomainBookingDay.campaign_id,
            DomainBookingDay.live,
            DomainBookingDay.planned,
        )
    )
    return {
        (domain, day.isoformat(), campaign): (live, planned)
        for domain, day, campaign, live, planned in rows
    }


def rebuild_booking_days() -> None:
    """Recompute the summary from the plain aggregate (after a load with triggers off)."""
    dialect = db.session.get_bind().dialect.name
    db.session.execute(sa.delete(DomainBookingDay))
    db.session.execute(
        sa.text(
            "INSERT INTO domain_booking_days (domain_used, day, campaign_id, live, planned) "
            + plain_booking_days_sql(dialect)
        )
    )


def live_per_day(names: list[str], first: date, last: date) -> dict[str, dict[date, int]]:
    """Live messages (queued, in flight) per domain and day in [first, last], every campaign."""
    return _per_day(DomainBookingDay.live, names, first, last)


def sent_or_booked_per_day(names: list[str], first: date, last: date) -> dict[str, dict[date, int]]:
    """Per domain and day in [first, last], every message that is not canceled, on the day
    it went or goes (sent, in flight, queued, every campaign): what the day holds against
    its allowance, as the planner counts it (`planning.caps`)."""
    return _per_day(DomainBookingDay.planned, names, first, last)


def _per_day(column: Any, names: list[str], first: date, last: date) -> dict[str, dict[date, int]]:
    """The summary's `column`, summed per domain and day in [first, last]."""
    result: dict[str, dict[date, int]] = {name: defaultdict(int) for name in names}
    if not names:
        return result
    rows = db.session.execute(
        sa.select(DomainBookingDay.domain_used, DomainBookingDay.day, sa.func.sum(column))
        .where(
            DomainBookingDay.domain_used.in_(names),
            DomainBookingDay.day >= first,
            DomainBookingDay.day <= last,
            column > 0,
        )
        .group_by(DomainBookingDay.domain_used, DomainBookingDay.day)
    )
    for name, day, count in rows:
        result[name][day] = int(count)
    return result


def planned_per_day(campaign_id: str) -> dict[tuple[str, date], int]:
    """A campaign's planned messages (not canceled) per (domain, day they go or went)."""
    rows = db.session.execute(
        sa.select(
            DomainBookingDay.domain_used, DomainBookingDay.day, DomainBookingDay.planned
        ).where(DomainBookingDay.campaign_id == campaign_id, DomainBookingDay.planned > 0)
    )
    return {(name, day): int(planned) for name, day, planned in rows}


def live_per_campaign_day(first: date, last: date) -> list[tuple[str, str, date, int]]:
    """(campaign, domain, day, live messages) for every day in [first, last]."""
    rows = db.session.execute(
        sa.select(
            DomainBookingDay.campaign_id,
            DomainBookingDay.domain_used,
            DomainBookingDay.day,
            DomainBookingDay.live,
        ).where(
            DomainBookingDay.day >= first,
            DomainBookingDay.day <= last,
            DomainBookingDay.live > 0,
        )
    )
    return [(campaign, domain, day, int(live)) for campaign, domain, day, live in rows]
