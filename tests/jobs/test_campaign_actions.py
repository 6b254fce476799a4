"""Campaign actions on real RQ workers: done by the worker, and nothing half-applied when
the worker is killed just before its commit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.factories import make_lead, make_template
from tests.jobs.conftest import Workers, wait_until
from tests.support.services import RedisServer
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import ActionStatus, Campaign, CampaignAction, Message
from webapp.services.campaigns import create_campaign, request_action
from webapp.services.domains import seed_default_domains
from webapp.services.planning import settle_stalled_actions


@pytest.fixture
def through_redis(
    app: Flask, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Jobs enqueued by this process go to the workers' Redis; every action is a job."""
    monkeypatch.setitem(app.config, "CAMPAIGN_BACKGROUND_MESSAGES", 0)
    app.config["REDIS_URL"] = redis_server.url
    app.extensions.pop("job_queue", None)
    yield
    app.config["REDIS_URL"] = None
    app.extensions.pop("job_queue", None)
    app.extensions.pop("wake_redis", None)


def draft(leads: int = 20) -> Campaign:
    seed_default_domains()
    template = make_template(steps=2)
    for _ in range(leads):
        make_lead(list_name="rq")
    campaign = create_campaign(
        {
            "name": "Op de worker",
            "template_id": template.id,
            "audience": {"list_names": ["rq"]},
            "followup_enabled": True,
            "followup_days": 2,
            "domains": ["punthelder-seo.nl"],
        },
        None,
        utcnow(),
    )
    db.session.commit()
    return campaign


def messages_of(campaign_id: str) -> int:
    return int(
        db.session.scalar(sa.select(sa.func.count()).where(Message.campaign_id == campaign_id)) or 0
    )


def test_a_worker_starts_a_large_campaign(
    app: Flask, workers: Workers, through_redis: None
) -> None:
    campaign = draft()
    campaign_id = campaign.id
    recorded = request_action(campaign, "start", None, utcnow())
    assert recorded is not None
    db.session.commit()
    workers.start(1)
    wait_until(
        lambda: db.session.get(CampaignAction, recorded.id).status == ActionStatus.DONE,
        60,
        "the worker to start the campaign",
    )
    campaign = db.session.get(Campaign, campaign_id)
    assert (campaign.status, campaign.pending_action) == ("running", None)
    assert messages_of(campaign_id) == 40


def test_a_worker_killed_before_its_commit_leaves_the_draft_as_it_was(
    app: Flask, workers: Workers, through_redis: None, tmp_path: Path
) -> None:
    campaign = draft()
    campaign_id = campaign.id
    recorded = request_action(campaign, "start", None, utcnow())
    assert recorded is not None
    action_id = recorded.id
    db.session.commit()
    point = "campaign_action.before_commit"
    (victim,) = workers.start(CAMPAIGNS_FAILPOINTS=point, CAMPAIGNS_FAILPOINT_DIR=str(tmp_path))
    wait_until((tmp_path / point).exists, 60, "the worker to reach its commit")

    # Every message is written inside the worker's transaction; none of it shows.
    db.session.rollback()
    assert messages_of(campaign_id) == 0
    campaign = db.session.get(Campaign, campaign_id)
    assert (campaign.status, campaign.pending_action) == ("draft", "start")
    assert db.session.get(CampaignAction, action_id).status == ActionStatus.RUNNING

    workers.kill(victim)
    # Its lease is no longer renewed: the sweep fails the action and frees the campaign.
    assert settle_stalled_actions(utcnow() + timedelta(minutes=2)) == 1
    db.session.commit()
    action = db.session.get(CampaignAction, action_id)
    assert action.status == ActionStatus.FAILED and "stopped before it finished" in action.error
    campaign = db.session.get(Campaign, campaign_id)
    assert (campaign.status, campaign.pending_action) == ("draft", None)
    assert messages_of(campaign_id) == 0

    # The retry goes through on a healthy worker.
    retry = request_action(campaign, "start", None, utcnow())
    assert retry is not None
    retry_id = retry.id
    db.session.commit()
    workers.start(1)
    wait_until(
        lambda: db.session.get(CampaignAction, retry_id).status == ActionStatus.DONE,
        60,
        "the retry",
    )
    assert messages_of(campaign_id) == 40
    assert db.session.get(Campaign, campaign_id).status == "running"
