"""A saved campaign's dry run is kept with the fingerprint of its inputs: a repeated view
with nothing changed is the kept report, and any change to what the plan is made from
(another campaign's booking, a domain's pace, the first slot coming) plans again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask

from tests.factories import make_campaign, make_lead, make_message, make_template
from webapp.extensions import db
from webapp.models import CampaignAudience, Lead, SendingDomain, StoredDryRun
from webapp.services.planning import campaign_dry_run

NOW = datetime(2026, 12, 7, 7, 30, tzinfo=UTC)  # a Monday, before the window opens
DOMAIN = "kept.example"


def world() -> str:
    db.session.add(
        SendingDomain(name=DOMAIN, label="Kept", interval_seconds=1200, aliases=[{"alias": "a"}])
    )
    campaign = make_campaign(
        template_id=make_template(2).id, domain=None, domains=[DOMAIN], status="draft"
    )
    campaign.audience = CampaignAudience(lead_ids=[make_lead().id for _ in range(30)])
    db.session.commit()
    return campaign.id


def kept_marker(campaign_id: str) -> None:
    """Mark the kept report, so a view that serves it shows the mark."""
    row = db.session.get(StoredDryRun, campaign_id)
    assert row is not None
    row.report = {**row.report, "total_messages": -1}
    db.session.commit()


def view(campaign_id: str, now: datetime = NOW) -> dict[str, Any]:
    report = campaign_dry_run(campaign_id, now)
    assert report is not None
    db.session.rollback()
    return report


def test_a_repeated_view_is_the_kept_report(app: Flask) -> None:
    campaign_id = world()
    first = view(campaign_id)
    assert first["total_messages"] == 60
    kept_marker(campaign_id)
    assert view(campaign_id)["total_messages"] == -1
    # Later, but before the plan's first slot: the same free slots lie ahead.
    assert view(campaign_id, NOW + timedelta(minutes=20))["total_messages"] == -1


def test_another_campaigns_booking_plans_again(app: Flask) -> None:
    campaign_id = world()
    first = view(campaign_id)
    kept_marker(campaign_id)
    other = make_campaign(domain=DOMAIN, status="running")
    make_message(other, make_lead(), domain_used=DOMAIN, scheduled_at=NOW + timedelta(hours=1))
    db.session.commit()
    again = view(campaign_id)
    assert again["total_messages"] == 60
    assert again["per_domain"][0]["first_slot"] == first["per_domain"][0]["first_slot"]
    assert any(w["code"] == "slots_taken" for w in again["warnings"])


def test_a_changed_pace_and_a_passed_first_slot_plan_again(app: Flask) -> None:
    campaign_id = world()
    first = view(campaign_id)
    kept_marker(campaign_id)
    domain = db.session.execute(
        sa.select(SendingDomain).where(SendingDomain.name == DOMAIN)
    ).scalar_one()
    domain.interval_seconds = 600
    db.session.commit()
    faster = view(campaign_id)
    assert faster["total_messages"] == 60
    assert faster["finishes_at"] < first["finishes_at"]
    kept_marker(campaign_id)
    later = view(campaign_id, NOW + timedelta(hours=3))
    assert later["total_messages"] == 60
    assert later["per_domain"][0]["first_slot"] > faster["per_domain"][0]["first_slot"]


def test_a_lead_edit_makes_the_kept_report_stale(app: Flask) -> None:
    campaign_id = world()
    assert not any(w["code"] == "missing_variables" for w in view(campaign_id)["warnings"])
    kept_marker(campaign_id)
    assert view(campaign_id)["total_messages"] == -1  # the lead warnings are kept with it
    # As the product edits leads (the ORM's update sets updated_at).
    db.session.execute(sa.update(Lead).values(company="", vars={}))
    db.session.commit()
    report = view(campaign_id)
    assert report["total_messages"] != -1  # made again
    assert any(w["code"] == "missing_variables" for w in report["warnings"])
