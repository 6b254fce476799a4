"""Each constraint named in docs/rules.md ("Schema") rejects what it should, on PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import IntegrityError

from tests.factories import make_campaign, make_event, make_lead, make_message
from webapp.extensions import db
from webapp.models import CampaignAudience, Message, MessageEvent


def rejected(action: Callable[[], Any], constraint: str) -> None:
    """The flush fails, and it fails on the named constraint."""
    with pytest.raises(IntegrityError) as error:
        action()
        db.session.flush()
    db.session.rollback()
    assert constraint in str(error.value.orig)


def test_a_second_message_for_the_same_campaign_lead_and_mail_number_is_rejected(
    app: Flask,
) -> None:
    campaign, lead = make_campaign(), make_lead()
    make_message(campaign, lead, mail_number=1)
    make_message(campaign, lead, mail_number=2)  # a follow-up is fine
    rejected(lambda: make_message(campaign, lead, mail_number=1), "uk_messages_campaign_lead")


def test_message_status_bogus_is_rejected(app: Flask) -> None:
    campaign, lead = make_campaign(), make_lead()
    rejected(lambda: make_message(campaign, lead, status="bogus"), "chk_messages_status")


@pytest.mark.parametrize("status", ["sending", "uncertain", "queued", "opened", "canceled"])
def test_message_statuses_of_the_product_are_accepted(app: Flask, status: str) -> None:
    message = make_message(make_campaign(), make_lead(), status=status)
    assert db.session.get(Message, message.id).status == status


@pytest.mark.parametrize("mail_number", [0, 5])
def test_mail_number_outside_one_to_four_is_rejected(app: Flask, mail_number: int) -> None:
    campaign, lead = make_campaign(), make_lead()
    rejected(
        lambda: make_message(campaign, lead, mail_number=mail_number), "chk_messages_mail_number"
    )


def test_a_duplicate_smtp_message_id_is_rejected(app: Flask) -> None:
    campaign = make_campaign()
    make_message(campaign, make_lead(), smtp_message_id="<abc@punthelder-seo.nl>")
    other = make_lead()
    rejected(
        lambda: make_message(campaign, other, smtp_message_id="<abc@punthelder-seo.nl>"),
        "uk_messages_smtp_id",
    )


def test_a_duplicate_lead_email_is_rejected(app: Flask) -> None:
    make_lead(email="jan@bakkerij.nl")
    rejected(lambda: make_lead(email="jan@bakkerij.nl"), "uk_leads_email")


def test_campaign_status_bogus_is_rejected(app: Flask) -> None:
    rejected(lambda: make_campaign(status="bogus"), "chk_campaigns_status")


def test_deleting_a_campaign_deletes_its_audience_messages_and_events(app: Flask) -> None:
    campaign, lead = make_campaign(), make_lead()
    db.session.add(CampaignAudience(campaign_id=campaign.id, lead_ids=[lead.id]))
    first = make_message(campaign, lead, mail_number=1)
    second = make_message(campaign, lead, mail_number=2, parent_message_id=first.id)
    make_event(first, "sent")
    make_event(second, "opened")
    db.session.commit()

    # Delete in SQL, so the database's ON DELETE CASCADE does the work, not the ORM.
    db.session.execute(sa.text("DELETE FROM campaigns WHERE id = :id"), {"id": campaign.id})
    db.session.commit()

    def count(model: Any) -> int:
        return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()

    assert count(CampaignAudience) == 0
    assert count(Message) == 0
    assert count(MessageEvent) == 0
    assert db.session.get(type(lead), lead.id) is not None  # the lead itself stays


def test_timestamps_come_back_in_utc(app: Flask) -> None:
    lead = make_lead()
    db.session.commit()
    db.session.expire_all()
    assert lead.created_at.utcoffset() is not None
    assert lead.created_at.utcoffset().total_seconds() == 0
