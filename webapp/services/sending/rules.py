"""The rules re-checked for every message at the moment it would be sent."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import (
    Campaign,
    CampaignStatus,
    CancelReason,
    EventType,
    Lead,
    LeadStatus,
    Message,
    MessageEvent,
    MessageStatus,
    SendingDomain,
)
from webapp.services.planning import DomainCalendar, domain_spec
from webapp.services.sending.guard import (
    company_replied,
    mailed_elsewhere,
    recent_days,
    suppression_reason,
)

SENT_STATUSES = (MessageStatus.SENT, MessageStatus.OPENED)
# A send may start this much before its domain's interval has passed since the last
# one (a tenth of the interval, at most two seconds): a mail that left a moment late
# does not push every later slot of the day back with it.
PACE_TOLERANCE_SHARE = 0.1
PACE_TOLERANCE_MAX = timedelta(seconds=2)
# A parent in one of these may still go out: its follow-up waits for it.
PARENT_PENDING = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.UNCERTAIN)


@dataclass(frozen=True)
class Verdict:
    """May this message go now? `cancel` ends it for good; `wait` gives it back to the queue."""

    cancel: bool = False
    wait: bool = False
    reason: str = ""


GO = Verdict()


def check_send_rules(message: Message, campaign: Campaign, lead: Lead, now: datetime) -> Verdict:
    """Campaign running, lead mailable, no reply, not mailed elsewhere lately, parent sent.

    Run by the send job on its claimed message before anything is written or sent; a
    cancel carries one CancelReason, which the campaign's messages table shows.
    """
    if campaign.status in (CampaignStatus.STOPPED, CampaignStatus.COMPLETED):
        return Verdict(cancel=True, reason=f"campaign {campaign.status}")
    if campaign.status != CampaignStatus.RUNNING:
        return Verdict(wait=True, reason=f"campaign {campaign.status}")
    reason = _unmailable(message, campaign, lead, now)
    if reason is not None:
        return Verdict(cancel=True, reason=reason)
    if message.parent_message_id is not None:
        parent = db.session.get(Message, message.parent_message_id)
        if parent is None or parent.status not in SENT_STATUSES + PARENT_PENDING:
            return Verdict(cancel=True, reason="earlier mail not sent")
        if parent.status in PARENT_PENDING:
            return Verdict(wait=True, reason="earlier mail not sent yet")
    return GO


def _unmailable(
    message: Message, campaign: Campaign, lead: Lead, now: datetime
) -> CancelReason | None:
    """Why the lead may not get this mail now (the guard's order: the lead's own state,
    the suppression list, replies, then other campaigns' mail)."""
    if lead.deleted_at is not None:
        return CancelReason.LEAD_DELETED
    if lead.stopped:
        return CancelReason.LEAD_STOPPED
    if lead.status == LeadStatus.BOUNCED:
        return CancelReason.LEAD_BOUNCED
    suppressed = suppression_reason(lead)
    if suppressed is not None:
        return suppressed
    if lead.status != LeadStatus.ACTIVE:
        return CancelReason.LEAD_SUPPRESSED
    if _has_replied(message):
        return CancelReason.LEAD_REPLIED
    if company_replied(message, lead):
        return CancelReason.COMPANY_REPLIED
    days = recent_days(campaign)
    if not days:
        return None
    elsewhere = mailed_elsewhere(message, campaign, lead, days, now)
    if elsewhere is not None:
        return elsewhere
    # First mails only: a follow-up follows its own earlier mail, which set last_emailed_at.
    if message.mail_number == 1 and _emailed_recently(lead, days, now):
        return CancelReason.EMAILED_RECENTLY
    return None


def _has_replied(message: Message) -> bool:
    replied = db.session.execute(
        sa.select(MessageEvent.id)
        .join(Message, Message.id == MessageEvent.message_id)
        .where(
            Message.campaign_id == message.campaign_id,
            Message.lead_id == message.lead_id,
            MessageEvent.event_type == EventType.REPLIED,
        )
        .limit(1)
    ).first()
    return replied is not None


def _emailed_recently(lead: Lead, days: int, now: datetime) -> bool:
    """The audience's 14-day rule on the lead's last mail, whichever campaign sent it."""
    return lead.last_emailed_at is not None and lead.last_emailed_at > now - timedelta(days=days)


def in_sending_window(domain: SendingDomain, now: datetime) -> bool:
    """Is `now` inside the domain's daily window, on one of its working days?"""
    calendar = DomainCalendar(domain_spec(domain))
    local = now.astimezone(calendar.zone)
    if not calendar.is_working_day(local.date()):
        return False
    wall = local.time().replace(tzinfo=None)
    return domain.window_start <= wall < domain.window_end


def pace_tolerance(interval_seconds: int) -> timedelta:
    """How much earlier than a full interval after the last send the next may start."""
    return min(timedelta(seconds=interval_seconds * PACE_TOLERANCE_SHARE), PACE_TOLERANCE_MAX)


def pace_gap(interval_seconds: int) -> timedelta:
    """The least time between the starts of two sends from one domain."""
    return timedelta(seconds=interval_seconds) - pace_tolerance(interval_seconds)


def pace_opens_at(domain: SendingDomain) -> datetime | None:
    """When the domain's pace lets its next send start (None: it has never sent)."""
    if domain.last_sent_at is None:
        return None
    return domain.last_sent_at + pace_gap(domain.interval_seconds)
