"""The send-time guard: what happened to a lead or its company between planning and sending.

The planner saw a mailable lead; by the time its mail is claimed the address or its
domain may be suppressed, a colleague at the company may have replied, or another
campaign may have mailed the lead or the company. Each check reads a handful of rows
through an index (the lead's messages, the company's leads and their messages and
events): the guard runs once per send and never scans.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import (
    Campaign,
    CampaignAudience,
    CancelReason,
    EventType,
    Lead,
    Message,
    MessageEvent,
    MessageStatus,
)
from webapp.services.leads import is_free_mail, suppressed_by

# A mail of another campaign counts as mailed once its send started: in flight, sent,
# opened, or with an outcome nobody knows (it may well have arrived).
MAILED = (MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.OPENED, MessageStatus.UNCERTAIN)


def suppression_reason(lead: Lead) -> CancelReason | None:
    """The lead's address, or its mail or company domain, is on the suppression list."""
    kind = suppressed_by(lead.email, lead.domain)
    if kind is None:
        return None
    return CancelReason.ADDRESS_SUPPRESSED if kind == "address" else CancelReason.DOMAIN_SUPPRESSED


def company_of(lead: Lead) -> str | None:
    """The lead's company domain, or None for a free-mail address (a person, not a company)."""
    if not lead.domain or is_free_mail(lead.domain):
        return None
    return lead.domain


def company_replied(message: Message, lead: Lead) -> bool:
    """Someone else at the lead's company replied, since this mail was planned, to a
    campaign that stops the whole company on a reply (as the inbox does when it applies one)."""
    company = company_of(lead)
    if company is None:
        return False
    replied = db.session.execute(
        sa.select(MessageEvent.id)
        .join(Message, Message.id == MessageEvent.message_id)
        .join(Lead, Lead.id == Message.lead_id)
        .join(Campaign, Campaign.id == Message.campaign_id)
        .where(
            Lead.domain == company,
            Lead.id != lead.id,
            MessageEvent.event_type == EventType.REPLIED,
            MessageEvent.created_at >= message.created_at,
            Campaign.stop_company_on_reply.is_(True),
        )
        .limit(1)
    ).first()
    return replied is not None


def recent_days(campaign: Campaign) -> int | None:
    """The campaign's "not emailed recently" setting in days (None or 0: switched off)."""
    return db.session.execute(
        sa.select(CampaignAudience.exclude_recent_days).where(
            CampaignAudience.campaign_id == campaign.id
        )
    ).scalar_one_or_none()


def mailed_elsewhere(
    message: Message, campaign: Campaign, lead: Lead, days: int, now: datetime
) -> CancelReason | None:
    """The rule of `days` (14) across campaigns: another campaign mailed this lead, or
    someone at its company, after this mail was planned and within the last `days` days."""
    since = max(message.created_at, now - timedelta(days=days))
    mailed = sa.and_(
        Message.campaign_id != campaign.id,
        Message.status.in_(MAILED),
        sa.func.coalesce(Message.sent_at, Message.send_started_at) > since,
    )
    to_lead = db.session.execute(
        sa.select(Message.id).where(Message.lead_id == lead.id, mailed).limit(1)
    ).first()
    if to_lead is not None:
        return CancelReason.LEAD_MAILED_ELSEWHERE
    company = company_of(lead)
    if company is None:
        return None
    to_company = db.session.execute(
        sa.select(Message.id)
        .join(Lead, Lead.id == Message.lead_id)
        .where(Lead.domain == company, Lead.id != lead.id, mailed)
        .limit(1)
    ).first()
    return CancelReason.COMPANY_MAILED_ELSEWHERE if to_company is not None else None
