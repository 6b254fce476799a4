"""Campaign KPIs and timelines: served from the trigger-kept summaries, checked against
the plain aggregate over `messages` and `message_events` (docs/rules.md, "KPIs").

Sent means `sent_at` set and opened means `open_at` set (never a status), so the open
rate cannot pass 100%; days are Europe/Amsterdam days. Rates are percentages of sent
with two decimals, and None (a dash on pages) while nothing has been sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models.kpis import COUNTERS, DAY_COUNTERS, CampaignKpi, CampaignKpiDay

# The figures of the API, in order (docs/interfaces.md: GET /campaigns/{id}/kpis).
FIGURES = (
    "planned",
    "sent",
    "opened",
    "human_opened",
    "clicked",
    "replied",
    "bounced",
    "failed",
    "unsubscribed",
)
# The headline open rate counts opens by people: image proxies and scanners open most mail
# (docs/rules.md, "KPIs"); the rate over every open stands beside it.
RATES = (
    ("open_rate_pct", "human_opened"),
    ("any_open_rate_pct", "opened"),
    ("reply_rate_pct", "replied"),
    ("bounce_rate_pct", "bounced"),
)
TIMEZONE = "Europe/Amsterdam"
EVENT_TYPES = ("opened", "clicked", "replied", "bounced", "unsubscribed")


def rate(count: int, sent: int) -> float | None:
    """`count` as a percentage of `sent`, two decimals (half up); None when nothing was sent."""
    if not sent:
        return None
    value = (Decimal(count) * 100 / Decimal(sent)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return float(value)


def figures(counts: dict[str, int]) -> dict[str, Any]:
    """The API's figures and rates from a row of counters."""
    result: dict[str, Any] = {name: int(counts.get(name) or 0) for name in FIGURES}
    for name, figure in RATES:
        result[name] = rate(result[figure], result["sent"])
    return result


def _add(total: dict[str, int], row: Any) -> None:
    for name in COUNTERS:
        total[name] = total.get(name, 0) + int(getattr(row, name))


def campaign_kpis(campaign_id: str) -> dict[str, Any]:
    """The campaign's figures, and the same per mail number and per sending domain."""
    rows = db.session.execute(
        sa.select(CampaignKpi).where(CampaignKpi.campaign_id == campaign_id)
    ).scalars()
    total: dict[str, int] = {}
    by_mail: dict[int, dict[str, int]] = {}
    by_domain: dict[str, dict[str, int]] = {}
    for row in rows:
        _add(total, row)
        _add(by_mail.setdefault(row.mail_number, {}), row)
        _add(by_domain.setdefault(row.domain_used, {}), row)
    result = figures(total)
    result["by_mail_number"] = {str(k): figures(by_mail[k]) for k in sorted(by_mail)}
    result["by_domain"] = {k: figures(by_domain[k]) for k in sorted(by_domain)}
    return result


def campaign_timeline(campaign_id: str) -> list[dict[str, Any]]:
    """Per Europe/Amsterdam day, oldest first: sent, opened, replied, bounced."""
    sums = [sa.func.sum(getattr(CampaignKpiDay, c)).label(c) for c in DAY_COUNTERS]
    rows = db.session.execute(
        sa.select(CampaignKpiDay.day, *sums)
        .where(CampaignKpiDay.campaign_id == campaign_id)
        .group_by(CampaignKpiDay.day)
        .order_by(CampaignKpiDay.day)
    )
    return [
        {"date": _iso_day(row.day), **{c: int(getattr(row, c)) for c in DAY_COUNTERS}}
        for row in rows
    ]


def kpi_table(kpis: dict[str, Any]) -> list[dict[str, Any]]:
    """The KPI figures as table rows: the campaign, then each mail number, then each domain."""
    rows = [{"scope": "campaign", "key": "all", **_without_groups(kpis)}]
    rows += [{"scope": "mail_number", "key": k, **v} for k, v in kpis["by_mail_number"].items()]
    rows += [{"scope": "domain", "key": k, **v} for k, v in kpis["by_domain"].items()]
    return rows


def _without_groups(kpis: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in kpis.items() if k not in ("by_mail_number", "by_domain")}


def _iso_day(value: date | str) -> str:
    return value if isinstance(value, str) else value.isoformat()


# -- the plain aggregate: the reference the summaries must equal -----------------------


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


def _human(dialect: str) -> str:
    if dialect == "postgresql":
        return "(e.meta ->> 'machine') = 'false'"
    return "json_extract(e.meta, '$.machine') = 0"


def _has(event_type: str, extra: str = "") -> str:
    return (
        "EXISTS (SELECT 1 FROM message_events e WHERE e.message_id = m.id"
        f" AND e.event_type = '{event_type}'{extra})"
    )


def _first(event_type: str) -> str:
    return (
        "(SELECT min(e.created_at) FROM message_events e WHERE e.message_id = m.id"
        f" AND e.event_type = '{event_type}')"
    )


def plain_totals_sql(dialect: str, one_campaign: bool) -> str:
    """Per (campaign, mail number, domain), every counter, straight from the messages."""
    count = {
        "messages": "1=1",
        "planned": "m.status <> 'canceled'",
        "queued": "m.status = 'queued'",
        "sending": "m.status = 'sending'",
        "sent": "m.sent_at IS NOT NULL",
        "opened": "m.open_at IS NOT NULL",
        "human_opened": f"m.open_at IS NOT NULL AND {_has('opened', ' AND ' + _human(dialect))}",
        "clicked": _has("clicked"),
        "replied": _has("replied"),
        "bounced": f"(m.status = 'bounced' OR {_has('bounced')})",
        "failed": "m.status = 'failed'",
        "canceled": "m.status = 'canceled'",
        "uncertain": "m.status = 'uncertain'",
        "unsubscribed": _has("unsubscribed"),
    }
    columns = ", ".join(f"sum(CASE WHEN {count[c]} THEN 1 ELSE 0 END) AS {c}" for c in COUNTERS)
    where = "WHERE m.campaign_id = :campaign_id" if one_campaign else ""
    return (
        f"SELECT m.campaign_id, m.mail_number, m.domain_used, {columns} FROM messages m {where}"
        " GROUP BY m.campaign_id, m.mail_number, m.domain_used"
    )


def plain_days_sql(dialect: str, one_campaign: bool) -> str:
    """Per (campaign, domain, day): sent, opened, replied, bounced, straight from the messages."""
    bounce_at = (
        f"coalesce({_first('bounced')}, CASE WHEN m.status = 'bounced'"
        " THEN coalesce(m.sent_at, m.scheduled_at) END)"
    )
    moments = {
        "sent": "m.sent_at",
        "opened": "m.open_at",
        "replied": _first("replied"),
        "bounced": bounce_at,
    }
    where = "m.campaign_id = :campaign_id" if one_campaign else "1=1"
    per_message = ", ".join(f"{moment} AS {name}_at" for name, moment in moments.items())
    parts = []
    for name in DAY_COUNTERS:
        counts = ", ".join(f"{1 if c == name else 0} AS {c}" for c in DAY_COUNTERS)
        parts.append(
            f"SELECT campaign_id, domain_used, {day_sql(dialect, name + '_at')} AS day, {counts}"
            f" FROM x WHERE {name}_at IS NOT NULL"
        )
    sums = ", ".join(f"sum({c}) AS {c}" for c in DAY_COUNTERS)
    return (
        f"WITH x AS (SELECT m.campaign_id, m.domain_used, {per_message} FROM messages m"
        f" WHERE {where}) SELECT campaign_id, domain_used, day, {sums}"
        f" FROM ({' UNION ALL '.join(parts)}) d GROUP BY campaign_id, domain_used, day"
    )


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def plain_totals(campaign_id: str | None = None) -> dict[tuple[str, int, str], dict[str, int]]:
    """The plain aggregate of every counter, keyed by (campaign, mail number, domain)."""
    sql = plain_totals_sql(_dialect(), campaign_id is not None)
    rows = db.session.execute(sa.text(sql), {"campaign_id": campaign_id})
    return {
        (r.campaign_id, int(r.mail_number), r.domain_used): {
            c: int(getattr(r, c)) for c in COUNTERS
        }
        for r in rows
    }


def plain_days(campaign_id: str | None = None) -> dict[tuple[str, str, str], dict[str, int]]:
    """The plain aggregate per (campaign, domain, day); days as ISO dates."""
    sql = plain_days_sql(_dialect(), campaign_id is not None)
    rows = db.session.execute(sa.text(sql), {"campaign_id": campaign_id})
    return {
        (r.campaign_id, r.domain_used, _iso_day(r.day)): {
            c: int(getattr(r, c)) for c in DAY_COUNTERS
        }
        for r in rows
    }


def summary_totals(campaign_id: str | None = None) -> dict[tuple[str, int, str], dict[str, int]]:
    """The summary rows, keyed as `plain_totals`."""
    query = sa.select(CampaignKpi)
    if campaign_id is not None:
        query = query.where(CampaignKpi.campaign_id == campaign_id)
    return {
        (r.campaign_id, r.mail_number, r.domain_used): {c: getattr(r, c) for c in COUNTERS}
        for r in db.session.execute(query).scalars()
    }


def summary_days(campaign_id: str | None = None) -> dict[tuple[str, str, str], dict[str, int]]:
    """The day summary rows, keyed as `plain_days`."""
    query = sa.select(CampaignKpiDay)
    if campaign_id is not None:
        query = query.where(CampaignKpiDay.campaign_id == campaign_id)
    return {
        (r.campaign_id, r.domain_used, _iso_day(r.day)): {c: getattr(r, c) for c in DAY_COUNTERS}
        for r in db.session.execute(query).scalars()
    }


def summary_drift() -> dict[str, list[Any]]:
    """Where the summaries differ from the plain aggregate (empty lists: they agree)."""
    drift: dict[str, list[Any]] = {"totals": [], "days": []}
    # Keyed by (campaign, mail number, domain) or (campaign, domain, day): compared, not read.
    sources: list[tuple[str, Mapping[Any, dict[str, int]], Mapping[Any, dict[str, int]]]] = [
        ("totals", summary_totals(), plain_totals()),
        ("days", summary_days(), plain_days()),
    ]
    for name, summary, plain in sources:
        for key in sorted(set(summary) | set(plain), key=str):
            if summary.get(key) != plain.get(key):
                drift[name].append(
                    {"key": key, "summary": summary.get(key), "plain": plain.get(key)}
                )
    return drift


def rebuild_summaries() -> None:
    """Recompute both summaries from the plain aggregate (after a load with triggers off)."""
    dialect = _dialect()
    db.session.execute(sa.delete(CampaignKpi))
    db.session.execute(sa.delete(CampaignKpiDay))
    columns = ", ".join(COUNTERS)
    db.session.execute(
        sa.text(
            f"INSERT INTO campaign_kpis (campaign_id, mail_number, domain_used, {columns}) "
            + plain_totals_sql(dialect, False)
        )
    )
    day_columns = ", ".join(DAY_COUNTERS)
    db.session.execute(
        sa.text(
            f"INSERT INTO campaign_kpi_days (campaign_id, domain_used, day, {day_columns}) "
            + plain_days_sql(dialect, False)
        )
    )
