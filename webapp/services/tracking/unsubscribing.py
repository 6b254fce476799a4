"""Unsubscribing through a mail: the link's page and button, the RFC 8058 one-click POST,
and a reply asking for it. Suppresses the address, cancels what is queued, records it once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import (
    EventType,
    Lead,
    LeadStatus,
    Message,
    MessageEvent,
    MessageStatus,
    SuppressionReason,
)
from webapp.services.leads import find_suppression, suppress_lead


@dataclass(frozen=True)
class UnsubscribeResult:
    """What an unsubscribe did: `changed` is False when all of it had been done before."""

    found: bool
    changed: bool = False


def is_unsubscribed(message_id: str) -> bool:
    """True when the address of the message's lead is suppressed (reads only)."""
    email = db.session.execute(
        sa.select(Lead.email)
        .join(Message, Message.lead_id == Lead.id)
        .where(Message.id == message_id)
    ).scalar()
    return email is not None and find_suppression(email=email) is not None


def unsubscribe(message_id: str, now: datetime | None = None) -> UnsubscribeResult:
    """Suppress the message's lead, cancel its queued mails everywhere, record `unsubscribed` once.

    Idempotent: a second call (a one-click POST after the button, say) changes nothing
    and records no second event; the lead has one `unsubscribed` event in all.
    """
    now = now or utcnow()
    lead_id = db.session.execute(
        sa.select(Message.lead_id).where(Message.id == message_id)
    ).scalar()
    if lead_id is None:
        return UnsubscribeResult(found=False)
    # The row lock makes a one-click POST and a button press at the same moment take turns.
    lead = db.session.get(Lead, lead_id, with_for_update=True, populate_existing=True)
    if lead is None:
        return UnsubscribeResult(found=False)
    recorded = db.session.execute(
        sa.select(MessageEvent.id)
        .join(Message, Message.id == MessageEvent.message_id)
        .where(Message.lead_id == lead.id, MessageEvent.event_type == EventType.UNSUBSCRIBED)
        .limit(1)
    ).first()
    queued = db.session.execute(
        sa.select(Message.id)
        .where(Message.lead_id == lead.id, Message.status == MessageStatus.QUEUED)
        .limit(1)
    ).first()
    done = (
        recorded is not None
        and queued is None
        and lead.status in (LeadStatus.SUPPRESSED, LeadStatus.BOUNCED)
        and find_suppression(email=lead.email) is not None
    )
    if done:
        return UnsubscribeResult(found=True, changed=False)
    suppress_lead(lead, SuppressionReason.UNSUBSCRIBED)
    if recorded is None:
        db.session.add(
            MessageEvent(
                message_id=message_id, event_type=EventType.UNSUBSCRIBED, meta={}, created_at=now
            )
        )
    return UnsubscribeResult(found=True, changed=True)
