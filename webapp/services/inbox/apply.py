"""Tie a classified inbound mail to the message it answers, and do what it means.

A reply stops the lead's remaining mails in that campaign (and, when the campaign says
so, every other lead of that company); an auto-reply is only recorded; a hard bounce
suppresses the address; a soft bounce is only recorded; an unsubscribe by mail
suppresses. Every event lands on the original message and carries the inbound
Message-ID, so the same mail is never applied twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import (
    Campaign,
    CampaignStatus,
    CancelReason,
    EventType,
    Lead,
    Message,
    MessageEvent,
    MessageStatus,
    SendingDomain,
    SuppressionReason,
)
from webapp.services.inbox import classify as kinds
from webapp.services.inbox.classify import Classified
from webapp.services.inbox.match import Match, match_message
from webapp.services.leads import is_free_mail, suppress_lead
from webapp.services.sending import check_domain_health
from webapp.services.tracking import unsubscribe

SENT_STATUSES = (MessageStatus.SENT, MessageStatus.OPENED)
LIVE_CAMPAIGNS = (CampaignStatus.RUNNING, CampaignStatus.PAUSED)
# Event types written here; the KPIs count a message with `replied` or `bounced` once.
INBOUND_EVENTS = (
    EventType.REPLIED,
    EventType.AUTO_REPLIED,
    EventType.BOUNCED,
    EventType.SOFT_BOUNCE,
)

DUPLICATE = "duplicate"
UNMATCHED = "unmatched"


def apply_mail(
    mail: Classified, domain: SendingDomain, received_at: datetime, now: datetime
) -> str:
    """Apply one mail from `domain`'s mailbox; returns the outcome (an event type or why not)."""
    if mail.kind == kinds.UNRELATED:
        return kinds.UNRELATED
    found = match_message(mail, domain)
    if found is None:
        return UNMATCHED
    message = found.message
    if _already_applied(message, mail.inbound_key):
        return DUPLICATE
    at = min(received_at, now)
    if mail.kind == kinds.UNSUBSCRIBE:
        return _unsubscribe(message, mail, found, at)
    if mail.kind == kinds.BOUNCE:
        return _bounce(message, mail, found, at, now)
    if mail.kind == kinds.AUTO_REPLY:
        _add(message, EventType.AUTO_REPLIED, at, _meta(mail, found, reasons=list(mail.reasons)))
        return EventType.AUTO_REPLIED
    return _reply(message, mail, found, at)


def _already_applied(message: Message, key: str) -> bool:
    """Whether this inbound mail already left an event on the message."""
    metas = db.session.scalars(
        sa.select(MessageEvent.meta).where(
            MessageEvent.message_id == message.id,
            MessageEvent.event_type.in_((*INBOUND_EVENTS, EventType.UNSUBSCRIBED)),
        )
    )
    return any(isinstance(meta, dict) and meta.get("inbound_message_id") == key for meta in metas)


def _meta(mail: Classified, found: Match, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "inbound_message_id": mail.inbound_key,
        "from": mail.from_address,
        "subject": mail.subject[:300],
        "matched_by": found.matched_by,
    }
    meta.update(extra)
    return meta


def _add(message: Message, event_type: str, at: datetime, meta: dict[str, Any]) -> None:
    db.session.add(
        MessageEvent(message_id=message.id, event_type=event_type, meta=meta, created_at=at)
    )


def _has_event(message: Message, event_type: str) -> bool:
    found = db.session.execute(
        sa.select(MessageEvent.id)
        .where(MessageEvent.message_id == message.id, MessageEvent.event_type == event_type)
        .limit(1)
    ).first()
    return found is not None


def _reply(message: Message, mail: Classified, found: Match, at: datetime) -> str:
    # Every answer is kept for the Inbox page; the KPIs count a message as replied once.
    _add(message, EventType.REPLIED, at, _meta(mail, found, excerpt=mail.excerpt))
    stop_after_reply(message)
    return EventType.REPLIED


def stop_after_reply(message: Message) -> int:
    """Cancel the lead's queued mails in the campaign (and its company's, if asked); the count."""
    canceled = _cancel(
        sa.select(Message.id).where(
            Message.campaign_id == message.campaign_id,
            Message.lead_id == message.lead_id,
            Message.status == MessageStatus.QUEUED,
        ),
        CancelReason.LEAD_REPLIED,
    )
    campaign = db.session.get(Campaign, message.campaign_id)
    lead = db.session.get(Lead, message.lead_id)
    if campaign is None or lead is None or not campaign.stop_company_on_reply:
        return canceled
    if not lead.domain or is_free_mail(lead.domain):
        return canceled  # gmail.com is not one company
    colleagues = (
        sa.select(Message.id)
        .join(Lead, Lead.id == Message.lead_id)
        .join(Campaign, Campaign.id == Message.campaign_id)
        .where(
            Lead.domain == lead.domain,
            Lead.id != lead.id,
            Campaign.status.in_(LIVE_CAMPAIGNS),
            Message.status == MessageStatus.QUEUED,
        )
    )
    return canceled + _cancel(colleagues, CancelReason.COMPANY_REPLIED)


def _cancel(message_ids: Any, reason: str) -> int:
    canceled = list(
        db.session.execute(
            sa.update(Message)
            .where(Message.id.in_(message_ids), Message.status == MessageStatus.QUEUED)
            .values(status=MessageStatus.CANCELED, last_error=reason)
            .returning(Message.id)
            .execution_options(synchronize_session="fetch")
        ).scalars()
    )
    if canceled:
        db.session.execute(
            sa.insert(MessageEvent),
            [
                {
                    "message_id": message_id,
                    "event_type": EventType.CANCELED,
                    "meta": {"reason": reason},
                }
                for message_id in canceled
            ],
        )
    return len(canceled)


def _bounce(message: Message, mail: Classified, found: Match, at: datetime, now: datetime) -> str:
    bounce = mail.bounce
    assert bounce is not None
    meta = _meta(
        mail,
        found,
        status=bounce.status,
        diagnostic=bounce.diagnostic,
        recipient=found.recipient or (bounce.recipients[0] if bounce.recipients else None),
        hard=bounce.hard,
        source=bounce.source,
    )
    if not bounce.hard:
        _add(message, EventType.SOFT_BOUNCE, at, meta)
        return EventType.SOFT_BOUNCE
    if not _has_event(message, EventType.BOUNCED):  # SMTP may have said so already
        _add(message, EventType.BOUNCED, at, meta)
    if message.status in SENT_STATUSES:
        message.status = MessageStatus.BOUNCED
        message.last_error = f"{bounce.status} {bounce.diagnostic}".strip()[:1000]
    lead = db.session.get(Lead, message.lead_id)
    assert lead is not None
    note = f"bounce {bounce.status}: {bounce.diagnostic}".strip()[:500]
    suppress_lead(lead, SuppressionReason.HARD_BOUNCE, note=note)
    sending_domain = db.session.execute(
        sa.select(SendingDomain).where(SendingDomain.name == message.domain_used)
    ).scalar_one_or_none()
    if sending_domain is not None:
        check_domain_health(sending_domain, now)
    return EventType.BOUNCED


def _unsubscribe(message: Message, mail: Classified, found: Match, at: datetime) -> str:

    result = unsubscribe(message.id, at)
    if not result.changed:
        return DUPLICATE
    for pending in db.session.new:
        if isinstance(pending, MessageEvent) and pending.event_type == EventType.UNSUBSCRIBED:
            pending.meta = _meta(mail, found, via="mail")
    return EventType.UNSUBSCRIBED
