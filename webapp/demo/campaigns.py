"""Demo campaigns in every state, made from the demo leads, template and domains.

Each one goes through the real services (create, start, pause, stop, complete) at a moment
in the past, so its plan is the planner's and its history reads true: mails due before
`now` are marked sent. Campaigns that already exist (by name) are left alone.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from webapp.demo.history import deliver_due
from webapp.demo.seed import TEMPLATE_NAME
from webapp.extensions import db
from webapp.models import Campaign, CampaignStatus, Lead, Message, MessageStatus, Template
from webapp.services.campaigns import apply_action, complete_if_done, create_campaign

# One stream of chance for the whole demo, so it comes out the same every time.
_RNG = random.Random(7)

# name: (list, days ago created, audience size (None: all), actions as (action, days ago), domains)
DEMO_CAMPAIGNS: list[tuple[str, str, int, int | None, list[tuple[str, float]], list[str]]] = [
    ("Horeca Amsterdam - voorjaar", "horeca-amsterdam", 1, None, [], []),
    ("Bouw Brabant - kennismaking", "bouw-brabant", 2, None, [], ["punthelder-seo.nl"]),
    ("Advocaten Randstad - quickscan", "advocaten-randstad", 12, 60, [("start", 11)], []),
    ("MKB Utrecht - installateurs", "mkb-utrecht", 9, 40, [("start", 8), ("pause", 2)], []),
    ("MKB Utrecht - najaar", "mkb-utrecht", 70, 12, [("start", 69)], []),
    ("Horeca Amsterdam - proef", "horeca-amsterdam", 30, 30, [("start", 29), ("stop", 24)], []),
]


def seed_demo_campaigns(now: datetime) -> dict[str, Any]:
    """Create the demo campaigns that do not exist yet; flushes, the caller commits."""
    template = db.session.execute(
        sa.select(Template).where(Template.name == TEMPLATE_NAME)
    ).scalar_one_or_none()
    if template is None:
        return {"campaigns": 0}
    existing = set(db.session.execute(sa.select(Campaign.name)).scalars())
    made: dict[str, str] = {}
    for name, list_name, created_days, size, actions, domains in DEMO_CAMPAIGNS:
        if name in existing:
            continue
        created = now - timedelta(days=created_days)
        campaign = create_campaign(
            {
                "name": name,
                "template_id": template.id,
                "audience": {"list_names": [list_name], "one_per_domain": True},
                "domains": domains,
                "start_at": (created + timedelta(days=1)).isoformat(),
                "followup_enabled": True,
                "followup_days": 3,
            },
            None,
            created,
        )
        campaign.created_at = created
        if size is not None and campaign.audience is not None:
            campaign.audience.lead_ids = list(campaign.audience.lead_ids[:size])
        for action, days_ago in actions:
            moment = now - timedelta(days=days_ago)
            _send_due(campaign, moment)
            apply_action(campaign, action, None, moment)
        _send_due(campaign, now)
        complete_if_done(campaign, now)
        made[name] = campaign.status
    db.session.flush()
    return {"campaigns": len(made), "statuses": made}


def _send_due(campaign: Campaign, until: datetime) -> None:
    """Mark the queued mails due before `until` as sent, as the sender would have."""
    if campaign.status != CampaignStatus.RUNNING:
        return
    due = sa.and_(
        Message.campaign_id == campaign.id,
        Message.status == MessageStatus.QUEUED,
        Message.scheduled_at < until,
    )
    lead_ids = list(db.session.execute(sa.select(Message.lead_id).where(due)).scalars())
    deliver_due(due, until, _RNG)
    if lead_ids:
        last_sent = (
            sa.select(sa.func.max(Message.sent_at))
            .where(Message.lead_id == Lead.id, Message.sent_at.is_not(None))
            .scalar_subquery()
        )
        db.session.execute(
            sa.update(Lead)
            .where(Lead.id.in_(set(lead_ids)))
            .values(last_emailed_at=last_sent)
            .execution_options(synchronize_session=False)
        )
