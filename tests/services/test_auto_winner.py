"""The automatic winner pass: it declares a step's winner once every variant has the
campaign's minimum of sends and one is best with probability >= 95%, audits that as its own
doing, and leaves everything else alone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.factories import make_campaign, make_event, make_lead, make_message, make_template
from webapp.extensions import db
from webapp.models import AuditEvent, Campaign, Message, MessageStatus
from webapp.services.audit import AuditAction
from webapp.services.campaigns import declare_auto_winners
from webapp.services.kpis import WINNER_PROBABILITY, campaign_experiments

SENT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


def _seed(campaign: Campaign, key: str, sent: int, replied: int, queued: int = 0) -> None:
    """`sent` sent mails of variant `key`, the first `replied` of them replied, and `queued`
    queued ones."""
    for index in range(sent + queued):
        is_sent = index < sent
        message = make_message(
            campaign,
            make_lead(),
            variant=key,
            status=MessageStatus.SENT if is_sent else MessageStatus.QUEUED,
            sent_at=SENT_AT if is_sent else None,
        )
        if is_sent and index < replied:
            make_event(message, "replied")


def _campaign(min_sends: int | None, a: tuple[int, int], b: tuple[int, int]) -> Campaign:
    template = make_template(steps=2)
    template.steps[0].variants = [{"key": "A", "weight": 1}, {"key": "B", "weight": 1}]
    campaign = make_campaign(
        template_id=template.id, status="running", auto_winner_min_sends=min_sends
    )
    _seed(campaign, "A", *a, queued=6)
    _seed(campaign, "B", *b, queued=4)
    db.session.commit()
    return campaign


def _winner_audits(campaign: Campaign) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.action == AuditAction.CAMPAIGN_WINNER,
                AuditEvent.subject_id == campaign.id,
            )
        )
    )


def _queued_variants(campaign: Campaign) -> dict[str | None, int]:
    return dict(
        db.session.execute(
            sa.select(Message.variant, sa.func.count())
            .where(Message.campaign_id == campaign.id, Message.status == MessageStatus.QUEUED)
            .group_by(Message.variant)
        ).all()
    )


def test_the_pass_declares_a_clear_winner_once_and_audits_it_as_automatic(app: Flask) -> None:
    campaign = _campaign(100, a=(120, 3), b=(130, 18))
    [step] = campaign_experiments(campaign)["steps"]
    assert step["variants"][1]["p_best"] >= WINNER_PROBABILITY  # the premise: B is clearly best

    assert declare_auto_winners(NOW) == [(campaign.id, 1, "B")]
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).variant_winners == {"1": "B"}  # type: ignore[union-attr]
    assert _queued_variants(campaign) == {"B": 10}
    [audit] = _winner_audits(campaign)
    assert audit.user_id is None
    assert audit.details["automatic"] is True
    assert (audit.details["mail_number"], audit.details["variant"]) == (1, "B")
    assert audit.details["moved"] == 6

    # The next pass finds the winner standing: nothing declared, nothing audited again.
    assert declare_auto_winners(NOW) == []
    db.session.commit()
    assert len(_winner_audits(campaign)) == 1


def test_the_pass_waits_until_every_variant_has_the_minimum_of_sends(app: Flask) -> None:
    # B is clearly best, but A has 120 sends of the 125 asked for.
    campaign = _campaign(125, a=(120, 3), b=(130, 18))
    assert declare_auto_winners(NOW) == []
    db.session.commit()
    db.session.expire_all()
    assert not db.session.get(Campaign, campaign.id).variant_winners  # type: ignore[union-attr]
    assert _queued_variants(campaign) == {"A": 6, "B": 4}
    assert _winner_audits(campaign) == []


def test_the_pass_declares_nothing_while_no_variant_reaches_95_percent(app: Flask) -> None:
    campaign = _campaign(100, a=(120, 10), b=(130, 12))
    [step] = campaign_experiments(campaign)["steps"]
    assert max(entry["p_best"] for entry in step["variants"]) < WINNER_PROBABILITY
    assert declare_auto_winners(NOW) == []
    db.session.commit()
    assert _queued_variants(campaign) == {"A": 6, "B": 4}
    assert _winner_audits(campaign) == []


@pytest.mark.parametrize("min_sends, status", [(None, "running"), (100, "completed")])
def test_campaigns_that_do_not_ask_or_have_ended_are_left_alone(
    app: Flask, min_sends: int | None, status: str
) -> None:
    campaign = _campaign(min_sends, a=(120, 3), b=(130, 18))
    campaign.status = status
    db.session.commit()
    assert declare_auto_winners(NOW) == []
    assert _winner_audits(campaign) == []


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ((20, 1), (20, 7)),  # best with p >= 95%, but 20 sends a variant: too few to tell
        ((3, 0), (100, 0)),  # no reply anywhere: only the prior favours the fewer sends
    ],
)
def test_a_small_minimum_never_declares_on_a_sample_the_view_calls_too_small(
    app: Flask, a: tuple[int, int], b: tuple[int, int]
) -> None:
    campaign = _campaign(1, a=a, b=b)
    [step] = campaign_experiments(campaign)["steps"]
    assert step["verdict"]["state"] == "too_small"
    assert max(entry["p_best"] for entry in step["variants"]) >= WINNER_PROBABILITY
    assert declare_auto_winners(NOW) == []
    db.session.commit()
    assert _winner_audits(campaign) == []
