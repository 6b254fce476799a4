"""What an operator decides by hand: resend a failed mail, settle an uncertain one."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

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
)
from webapp.queue import wake_dispatcher_after_commit
from webapp.services.audit import AuditAction, record_action
from webapp.services.errors import Conflict
from webapp.services.planning import replan_queued
from webapp.services.sending.send import MAX_ATTEMPTS


class Decision(StrEnum):
    """What an operator decides about an uncertain message: it went out, or send it again."""

    SENT = "sent"
    RESEND = "resend"


DECISIONS: tuple[str, ...] = tuple(decision.value for decision in Decision)


class MessageConflict(Conflict):
    """The message's state does not allow the action (409 in the API)."""


def resend_message(message: Message, user_id: str | None, now: datetime) -> Message:
    """Put a `failed` message with retry_count < 3 back in the queue (docs/rules.md, "Sending")."""
    if message.status != MessageStatus.FAILED or message.retry_count >= MAX_ATTEMPTS:
        raise MessageConflict(
            "Only a failed message with fewer than 3 attempts can be resent "
            f"(this one is {message.status}, {message.retry_count} attempts)."
        )
    _requeue(message, now)
    # Its follow-ups were canceled when it failed; they come back with it.
    db.session.execute(
        sa.update(Message)
        .where(
            Message.campaign_id == message.campaign_id,
            Message.lead_id == message.lead_id,
            Message.mail_number > message.mail_number,
            Message.status == MessageStatus.CANCELED,
            Message.last_error == CancelReason.EARLIER_MAIL_FAILED,
        )
        .values(status=MessageStatus.QUEUED, last_error=None)
        .execution_options(synchronize_session=False)
    )
    db.session.add(
        MessageEvent(message_id=message.id, event_type=EventType.RESENT, meta={"by": user_id})
    )
    record_action(AuditAction.MESSAGE_RESENT, "message", message.id, user_id)
    _replan(message, now)
    return message


def decide_uncertain(message: Message, outcome: str, user_id: str | None, now: datetime) -> Message:
    """Settle an `uncertain` message: it was delivered (`sent`), or send it again (`resend`)."""
    if message.status != MessageStatus.UNCERTAIN:
        raise MessageConflict(
            f"Only an uncertain message can be decided (this one is {message.status})."
        )
    if outcome not in DECISIONS:
        raise ValueError(f"outcome must be one of {', '.join(DECISIONS)}")
    if outcome == Decision.SENT:
        message.status = MessageStatus.SENT
        message.sent_at = message.send_started_at or message.claimed_at or now
        lead_row = db.session.get(Lead, message.lead_id)
        if lead_row is not None and (
            lead_row.last_emailed_at is None or lead_row.last_emailed_at < message.sent_at
        ):
            lead_row.last_emailed_at = message.sent_at
        db.session.add(
            MessageEvent(
                message_id=message.id, event_type=EventType.SENT, meta={"decided_by": user_id}
            )
        )
    else:
        _requeue(message, now)
        db.session.add(
            MessageEvent(message_id=message.id, event_type=EventType.RESENT, meta={"by": user_id})
        )
    record_action(AuditAction(f"message.decided_{outcome}"), "message", message.id, user_id)
    return message


def _requeue(message: Message, now: datetime) -> None:
    wake_dispatcher_after_commit()
    message.status = MessageStatus.QUEUED
    message.scheduled_at = now
    message.claim_token = None
    message.claimed_at = None
    message.send_started_at = None


def _replan(message: Message, now: datetime) -> None:
    campaign = db.session.get(Campaign, message.campaign_id)
    if campaign is not None and campaign.status == CampaignStatus.RUNNING:
        db.session.flush()
        replan_queued(campaign, now)
