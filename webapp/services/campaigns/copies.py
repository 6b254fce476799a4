"""Conveniences around a campaign's life: a copy as a new draft, deleting a draft, and
archiving a finished campaign out of the default list."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _

from webapp.extensions import db
from webapp.models import Campaign, CampaignStatus, Message
from webapp.services.audit import AuditAction, record_action
from webapp.services.campaigns.input import CampaignInputError
from webapp.services.campaigns.lifecycle import (
    CampaignConflict,
    auto_domain,
    snapshot_audience,
    stored_filters,
)

FINISHED = (CampaignStatus.COMPLETED, CampaignStatus.STOPPED)
# A copy's name: "Copy of <name>", cut to what a name may hold.
MAX_NAME = 200


def duplicate_campaign(campaign: Campaign, user_id: str | None, now: datetime) -> Campaign:
    """A new draft with the campaign's template, domains, settings and audience filters.

    The audience is chosen again from today's data (who is suppressed, mailed lately or
    complete now), as a new draft with those filters would be; nothing of the original's
    mail, figures or plan comes along.
    """
    audience = snapshot_audience(stored_filters(campaign), now)
    if not audience.lead_ids:
        raise CampaignInputError({"audience": _("these filters select no leads")})
    name = _("Copy of %(name)s", name=campaign.name)[:MAX_NAME]
    copy = Campaign(
        name=name,
        template_id=campaign.template_id,
        domains=list(campaign.domains or []),
        start_at=campaign.start_at if campaign.start_at and campaign.start_at > now else None,
        followup_enabled=campaign.followup_enabled,
        followup_days=campaign.followup_days,
        step_delays=list(campaign.step_delays or []),
        followup_attach_report=campaign.followup_attach_report,
        stop_company_on_reply=campaign.stop_company_on_reply,
        track_opens=campaign.track_opens,
        track_clicks=campaign.track_clicks,
        auto_winner_min_sends=campaign.auto_winner_min_sends,
        created_by_id=user_id,
    )
    copy.audience = audience
    copy.domain = copy.domains[0] if copy.domains else auto_domain(copy, now)
    db.session.add(copy)
    db.session.flush()
    record_action(
        AuditAction.CAMPAIGN_DUPLICATED,
        "campaign",
        copy.id,
        user_id,
        {"name": copy.name, "copied_from": campaign.name, "audience_size": len(audience.lead_ids)},
    )
    return copy


def delete_draft(campaign: Campaign, user_id: str | None) -> None:
    """Delete a draft and its audience; a started campaign keeps its record (409)."""
    if campaign.status != CampaignStatus.DRAFT or campaign.pending_action:
        raise CampaignConflict(_("Only a draft can be deleted; stop a started campaign instead."))
    # A draft never has mail; should one ever, its history outweighs the convenience.
    if db.session.scalar(sa.select(Message.id).where(Message.campaign_id == campaign.id).limit(1)):
        raise CampaignConflict(_("This draft has mail on record, so it cannot be deleted."))
    record_action(
        AuditAction.CAMPAIGN_DELETED, "campaign", campaign.id, user_id, {"name": campaign.name}
    )
    db.session.delete(campaign)
    db.session.flush()


def set_archived(
    campaign: Campaign, archived: bool, user_id: str | None, now: datetime
) -> Campaign:
    """Put a completed or stopped campaign out of the default list, or back into it."""
    if archived == (campaign.archived_at is not None):
        return campaign
    if archived and campaign.status not in FINISHED:
        raise CampaignConflict(_("Only a completed or stopped campaign can be archived."))
    campaign.archived_at = now if archived else None
    record_action(
        AuditAction.CAMPAIGN_ARCHIVED if archived else AuditAction.CAMPAIGN_UNARCHIVED,
        "campaign",
        campaign.id,
        user_id,
        {"name": campaign.name},
    )
    db.session.flush()
    return campaign
