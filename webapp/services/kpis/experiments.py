"""A campaign's experiments: per step and variant what happened, and what can be told.

The counts follow the one definition of each count (docs/rules.md, "KPIs"): sent is
`sent_at` set, opened by a person a non-machine open, replied, bounced, unsubscribed the
message has that event. They come from one grouped read of the campaign's messages with a
variant (`idx_messages_campaign_variant`), each event looked up through its message's
index, whatever the number of variants. The statistics are experiment_stats': reply rates
only, since image proxies open every mail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Campaign
from webapp.services.kpis.experiment_stats import (
    Arm,
    credible_interval,
    probability_best,
    verdict,
)
from webapp.services.kpis.summaries import _dialect, _human
from webapp.services.mail import variants_of

# The counts of each variant, in the API's order.
COUNTS = ("sent", "human_opened", "clicked", "replied", "bounced", "unsubscribed")
# The figures of each variant, in the API's (and the CSV's) order.
VARIANT_FIGURES = (
    "key",
    *COUNTS,
    "reply_rate",
    "reply_rate_low",
    "reply_rate_high",
    "p_best",
)


def experiment_counts_sql(dialect: str) -> str:
    """Per (mail number, variant) of one campaign, each count, in one grouped read: the
    campaign's events folded per message once (`f`), joined to its messages with a variant."""
    human = _human(dialect)
    flags = {
        "human_open": f"e.event_type = 'opened' AND {human}",
        "clicked": "e.event_type = 'clicked'",
        "replied": "e.event_type = 'replied'",
        "bounced": "e.event_type = 'bounced'",
        "unsubscribed": "e.event_type = 'unsubscribed'",
    }
    folded = ", ".join(f"max(CASE WHEN {flags[f]} THEN 1 ELSE 0 END) AS {f}" for f in flags)
    count = {
        "sent": "m.sent_at IS NOT NULL",
        "human_opened": "m.open_at IS NOT NULL AND f.human_open = 1",
        "clicked": "f.clicked = 1",
        "replied": "f.replied = 1",
        "bounced": "(m.status = 'bounced' OR f.bounced = 1)",
        "unsubscribed": "f.unsubscribed = 1",
    }
    columns = ", ".join(f"sum(CASE WHEN {count[c]} THEN 1 ELSE 0 END) AS {c}" for c in COUNTS)
    return (
        f"SELECT m.mail_number, m.variant, {columns} FROM messages m LEFT JOIN ("
        f"SELECT e.message_id, {folded} FROM message_events e"
        " JOIN messages x ON x.id = e.message_id"
        " WHERE x.campaign_id = :campaign_id AND x.variant IS NOT NULL"
        " AND e.event_type IN ('opened', 'clicked', 'replied', 'bounced', 'unsubscribed')"
        " GROUP BY e.message_id) f ON f.message_id = m.id"
        " WHERE m.campaign_id = :campaign_id AND m.variant IS NOT NULL"
        " GROUP BY m.mail_number, m.variant"
    )


def experiment_counts(campaign_id: str) -> dict[tuple[int, str], dict[str, int]]:
    """The counts of each (mail number, variant) that has messages."""
    rows = db.session.execute(
        sa.text(experiment_counts_sql(_dialect())), {"campaign_id": campaign_id}
    )
    return {
        (int(row.mail_number), str(row.variant)): {c: int(getattr(row, c) or 0) for c in COUNTS}
        for row in rows
    }


def campaign_experiments(campaign: Campaign) -> dict[str, Any]:
    """`{steps: [{mail_number, variants: [...], winner, verdict}]}`: every step whose
    template has variants or whose messages carry one, in mail order."""
    counts = experiment_counts(campaign.id)
    keys: dict[int, set[str]] = {}
    for step in campaign.template.steps:
        found = {variant.key for variant in variants_of(step.variants)}
        if found:
            keys[step.mail_number] = found
    for number, key in counts:
        keys.setdefault(number, set()).add(key)
    winners = campaign.variant_winners or {}
    steps = []
    for number in sorted(keys):
        rows = [
            counts.get((number, key), dict.fromkeys(COUNTS, 0)) | {"key": key}
            for key in sorted(keys[number])
        ]
        steps.append(step_figures(number, rows, winners.get(str(number))))
    return {"steps": steps}


def step_figures(
    mail_number: int, rows: list[dict[str, Any]], winner: str | None
) -> dict[str, Any]:
    """One step's variants with their reply rate, its 95% interval and the chance of being
    best, and the verdict: `too_small`, `likely_winner` (with `best`) or `no_winner_yet`."""
    arms = [Arm(row["sent"], min(row["replied"], row["sent"])) for row in rows]
    p_best = probability_best(arms) if len(arms) > 1 else [1.0] * len(arms)
    judged = verdict(arms, p_best)
    variants = []
    for row, arm, chance in zip(rows, arms, p_best, strict=True):
        interval = credible_interval(arm)
        variants.append(
            {
                "key": row["key"],
                **{c: int(row[c]) for c in COUNTS},
                "reply_rate": _round(arm.rate),
                "reply_rate_low": _round(interval[0]) if interval else None,
                "reply_rate_high": _round(interval[1]) if interval else None,
                "p_best": _round(chance) if len(arms) > 1 else None,
            }
        )
    best = rows[judged.best]["key"] if judged.best is not None else None
    return {
        "mail_number": mail_number,
        "variants": variants,
        "winner": winner,
        "verdict": {"state": judged.state, "best": best},
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)


def experiment_chart(step: dict[str, Any]) -> dict[str, Any]:
    """Bars of each variant's reply rate with its 95% interval as whiskers (one step)."""
    width, left, top, bottom, row = 560, 40, 10, 28, 64
    variants = step["variants"]
    highest = max((v["reply_rate_high"] or 0 for v in variants), default=0)
    scale = _nice_rate(highest)
    height = 160
    plot = height - top - bottom
    slot = (width - left - 16) / max(len(variants), 1)

    def y(value: float | None) -> float:
        return top + plot - plot * (value or 0) / scale

    bars = []
    for index, variant in enumerate(variants):
        centre = left + slot * index + slot / 2
        bars.append(
            {
                "key": variant["key"],
                "x": centre - min(row, slot * 0.6) / 2,
                "width": min(row, slot * 0.6),
                "y": y(variant["reply_rate"]),
                "height": top + plot - y(variant["reply_rate"]),
                "centre": centre,
                "low": y(variant["reply_rate_low"])
                if variant["reply_rate_low"] is not None
                else None,
                "high": y(variant["reply_rate_high"])
                if variant["reply_rate_high"] is not None
                else None,
                "rate": variant["reply_rate"],
            }
        )
    ticks = [{"value": scale * k / 4, "y": top + plot - plot * k / 4} for k in range(5)]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right_edge": width - 16,
        "baseline": top + plot,
        "bars": bars,
        "ticks": ticks,
        "winner": step["winner"],
    }


def _whisker(y: Callable[[float | None], float], value: float | None) -> float | None:
    return None if value is None else y(value)


def _nice_rate(value: float) -> float:
    """A round axis maximum for a rate (0..1): 1%, 2%, 5%, 10%, 20%, 50% or 100%."""
    for limit in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5):
        if value <= limit:
            return limit
    return 1.0
