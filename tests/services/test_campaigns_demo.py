"""The demo campaigns: one in every state, each with the plan the planner made."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from webapp.database import utcnow
from webapp.demo.campaigns import seed_demo_campaigns
from webapp.demo.seed import seed_demo
from webapp.extensions import db
from webapp.models import Campaign, Message


def counts(campaign: Campaign) -> dict[str, int]:
    rows = db.session.execute(
        sa.select(Message.status, sa.func.count())
        .where(Message.campaign_id == campaign.id)
        .group_by(Message.status)
    )
    return dict(rows.all())


def test_demo_campaigns_cover_every_state_with_plans(app: Flask) -> None:
    seed_demo()
    now = utcnow()
    result = seed_demo_campaigns(now)
    db.session.commit()
    assert sorted(set(result["statuses"].values())) == [
        "completed",
        "draft",
        "paused",
        "running",
        "stopped",
    ]
    for campaign in db.session.execute(sa.select(Campaign)).scalars():
        by_status = counts(campaign)
        assert campaign.audience is not None and campaign.audience.lead_ids
        if campaign.status == "draft":
            assert by_status == {}
        elif campaign.status in ("running", "paused"):
            assert by_status["sent"] > 0 and by_status["queued"] > 0
        elif campaign.status == "completed":
            # Delivered with a believable aftermath: opens, a few bounces, replies that
            # canceled the lead's later mails; nothing left to send.
            assert set(by_status) <= {"sent", "opened", "bounced", "canceled"}
            assert by_status["sent"] + by_status["opened"] > 0
            assert campaign.finished_at is not None
        elif campaign.status == "stopped":
            assert by_status["canceled"] > 0 and "queued" not in by_status
    sent_at = db.session.execute(sa.select(sa.func.max(Message.sent_at))).scalar_one()
    assert sent_at < now
    assert seed_demo_campaigns(now)["campaigns"] == 0
