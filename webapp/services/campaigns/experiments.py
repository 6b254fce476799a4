"""Ending a step's experiment: the winning variant declared, by hand or by itself.

Declaring moves the step's mail that is still queued to the winner in one UPDATE: no mail
is made, planned again or sent again, and mail in flight or out keeps what it was. Mail
the campaign plans later for that step gets the winner too (planning's writer reads
`variant_winners`). The automatic pass declares once each variant has a campaign's
`auto_winner_min_sends` sends and one is best with probability >= 95%.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _

from webapp.database import affected_rows
from webapp.extensions import db
from webapp.models import Campaign, CampaignStatus, Message, MessageStatus
from webapp.services.audit import AuditAction, record_action
from webapp.services.campaigns.lifecycle import CampaignConflict
from webapp.services.errors import InvalidInput
from webapp.services.kpis import WINNER_PROBABILITY, campaign_experiments


def declare_winner(
    campaign: Campaign,
    mail_number: Any,
    variant: Any,
    user_id: str | None,
    *,
    automatic: bool = False,
) -> int:
    """Make `variant` the winner of mail `mail_number`; returns how many queued mails moved.

    InvalidInput for a mail without an experiment or a variant it does not have; a
    Conflict for a draft (nothing is planned yet to move). The caller commits.
    """
    if campaign.status == CampaignStatus.DRAFT:
        raise CampaignConflict(_("Start the campaign before declaring a winner."))
    # Held until the commit, as a start or re-plan holds it: mail planned meanwhile
    # cannot miss the winner.
    db.session.execute(sa.select(Campaign.id).where(Campaign.id == campaign.id).with_for_update())
    steps = {step["mail_number"]: step for step in campaign_experiments(campaign)["steps"]}
    if isinstance(mail_number, bool) or mail_number not in steps:
        raise InvalidInput({"mail_number": _("this mail has no experiment")})
    keys = [entry["key"] for entry in steps[mail_number]["variants"]]
    if variant not in keys:
        raise InvalidInput({"variant": _("one of %(keys)s", keys=", ".join(keys))})
    moved = affected_rows(
        db.session.execute(
            sa.update(Message)
            .where(
                Message.campaign_id == campaign.id,
                Message.mail_number == mail_number,
                Message.status == MessageStatus.QUEUED,
                Message.variant.is_not(None),
                Message.variant != variant,
            )
            .values(variant=variant)
            .execution_options(synchronize_session=False)
        )
    )
    campaign.variant_winners = {**(campaign.variant_winners or {}), str(mail_number): variant}
    record_action(
        AuditAction.CAMPAIGN_WINNER,
        "campaign",
        campaign.id,
        user_id,
        {
            "name": campaign.name,
            "mail_number": mail_number,
            "variant": variant,
            "moved": moved,
            "automatic": automatic,
        },
    )
    db.session.flush()
    return moved


def auto_winner_ready(step: dict[str, Any], min_sends: int) -> str | None:
    """The variant to declare for a step: each variant has `min_sends` sends and the
    figures name a likely winner, as the experiment view says it (at least 100 sends of each
    variant and 5 replies in all, and one best with probability >= 95%); None while that is
    not so (or a winner stands). A small `min_sends` never declares on a sample the view
    calls too small to tell."""
    variants = step["variants"]
    if step["winner"] is not None or len(variants) < 2:
        return None
    if any(entry["sent"] < min_sends for entry in variants):
        return None
    verdict = step.get("verdict") or {}
    if verdict.get("state") != "likely_winner" or verdict.get("best") is None:
        return None
    best = next(entry for entry in variants if entry["key"] == verdict["best"])
    if (best["p_best"] or 0.0) >= WINNER_PROBABILITY:
        return str(best["key"])
    return None


def declare_auto_winners(now: datetime) -> list[tuple[str, int, str]]:
    """The periodic pass: every running or paused campaign that asks for it gets the
    winners its figures allow; returns (campaign, mail number, variant) declared."""
    declared: list[tuple[str, int, str]] = []
    campaigns = db.session.scalars(
        sa.select(Campaign).where(
            Campaign.auto_winner_min_sends.is_not(None),
            Campaign.status.in_((CampaignStatus.RUNNING, CampaignStatus.PAUSED)),
        )
    )
    for campaign in list(campaigns):
        min_sends = campaign.auto_winner_min_sends or 0
        for step in campaign_experiments(campaign)["steps"]:
            key = auto_winner_ready(step, min_sends)
            if key is not None:
                declare_winner(campaign, step["mail_number"], key, None, automatic=True)
                declared.append((campaign.id, step["mail_number"], key))
    return declared
