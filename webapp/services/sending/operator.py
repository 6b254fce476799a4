"""What an operator decides by hand: resend a failed mail, settle an uncertain one."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.database import affected_rows
from webapp.extensions import db
from webapp.formats import thousands
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
from webapp.services.planning import request_replan
from webapp.services.sending.send import MAX_ATTEMPTS


class Decision(StrEnum):
    """What an operator decides about an uncertain message: it went out, or send it again."""

    SENT = "sent"
    RESEND = "resend"


DECISIONS: tuple[str, ...] = tuple(decision.value for decision in Decision)


class MessageConflict(Conflict):
    """The message's state does not allow the action (409 in the API)."""


# A message status as a refusal names it.
STATUS_WORDS: dict[str, Any] = {
    MessageStatus.QUEUED: _l("queued"),
    MessageStatus.SENDING: _l("sending"),
    MessageStatus.SENT: _l("sent"),
    MessageStatus.OPENED: _l("opened"),
    MessageStatus.FAILED: _l("failed"),
    MessageStatus.BOUNCED: _l("bounced"),
    MessageStatus.CANCELED: _l("canceled"),
    MessageStatus.UNCERTAIN: _l("uncertain"),
}
NOT_RESENDABLE = _l(
    "Only a failed message with fewer than %(max)s attempts can be resent"
    " (this one is %(status)s, attempts: %(attempts)s)."
)
NOT_UNCERTAIN = _l(
    "Only an uncertain message can be decided (this one is %(status)s, attempts: %(attempts)s)."
)
STOPPED_NOT_RESENT = _l(
    "This mail cannot be resent: its campaign was stopped, and a stopped campaign sends"
    " nothing more."
)
STOPPED_NOT_SENT_AGAIN = _l(
    "This mail cannot be sent again: its campaign was stopped, and a stopped campaign sends"
    " nothing more."
)


def resend_message(message: Message, user_id: str | None, now: datetime) -> Message:
    """Put a `failed` message with retry_count < 3 back in the queue (docs/rules.md, "Sending")."""
    campaign = _campaign_that_sends(message, STOPPED_NOT_RESENT)
    _take(
        message,
        MessageStatus.FAILED,
        now,
        NOT_RESENDABLE,
        Message.retry_count < MAX_ATTEMPTS,
    )
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
    _reopen(campaign, message, user_id, now)
    _replan(campaign, user_id, now)
    return message


def decide_uncertain(message: Message, outcome: str, user_id: str | None, now: datetime) -> Message:
    """Settle an `uncertain` message: it was delivered (`sent`), or send it again (`resend`).

    Decisions on one message serialise: the first one changes its status, and every
    other (made at the same moment, on the same stale page) finds it no longer uncertain.
    """
    if outcome not in DECISIONS:
        raise ValueError(_("outcome must be one of %(choices)s", choices=", ".join(DECISIONS)))
    refused = NOT_UNCERTAIN
    if outcome == Decision.SENT:
        _take(message, MessageStatus.UNCERTAIN, now, refused, to=MessageStatus.SENT)
        lead_row = db.session.get(Lead, message.lead_id)
        sent_at = message.sent_at
        if (
            lead_row is not None
            and sent_at is not None
            and (lead_row.last_emailed_at is None or lead_row.last_emailed_at < sent_at)
        ):
            lead_row.last_emailed_at = sent_at
        db.session.add(
            MessageEvent(
                message_id=message.id, event_type=EventType.SENT, meta={"decided_by": user_id}
            )
        )
    else:
        campaign = _campaign_that_sends(message, STOPPED_NOT_SENT_AGAIN)
        _take(message, MessageStatus.UNCERTAIN, now, refused)
        db.session.add(
            MessageEvent(message_id=message.id, event_type=EventType.RESENT, meta={"by": user_id})
        )
        _reopen(campaign, message, user_id, now)
    record_action(AuditAction(f"message.decided_{outcome}"), "message", message.id, user_id)
    return message


def _campaign_that_sends(message: Message, refusal: Any) -> Campaign:
    """The message's campaign, if mail of it may still go out: not when it was stopped."""
    campaign = db.session.get(Campaign, message.campaign_id)
    assert campaign is not None  # messages cascade with their campaign
    if campaign.status == CampaignStatus.STOPPED:
        raise MessageConflict(str(refusal))
    return campaign


def _take(
    message: Message,
    expected: MessageStatus,
    now: datetime,
    refused: Any,
    *conditions: sa.ColumnElement[bool],
    to: MessageStatus = MessageStatus.QUEUED,
) -> None:
    """Move the message from `expected` to `to` in one conditional UPDATE, or refuse.

    Whoever changes the row first wins; a concurrent second finds another status.
    """
    values: dict[str, object]
    if to == MessageStatus.SENT:
        sent_at = sa.func.coalesce(Message.send_started_at, Message.claimed_at, now)
        values = {"status": to, "sent_at": sent_at}
    else:
        wake_dispatcher_after_commit()
        values = {
            "status": to,
            "scheduled_at": now,
            "claim_token": None,
            "claimed_at": None,
            "send_started_at": None,
        }
    taken = db.session.execute(
        sa.update(Message)
        .where(Message.id == message.id, Message.status == expected, *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(message)
    if affected_rows(taken) != 1:
        word = STATUS_WORDS.get(message.status, message.status)
        raise MessageConflict(
            str(refused)
            % {
                "max": thousands(MAX_ATTEMPTS),
                "status": str(word),
                "attempts": thousands(message.retry_count),
            }
        )


def _reopen(campaign: Campaign, message: Message, user_id: str | None, now: datetime) -> None:
    """A completed campaign runs again for the mail sent again, and completes after it."""
    if campaign.status != CampaignStatus.COMPLETED:
        return
    campaign.status = CampaignStatus.RUNNING
    campaign.finished_at = None
    campaign.archived_at = None  # running again: back in the list
    campaign.updated_at = now
    record_action(
        AuditAction.CAMPAIGN_REOPENED, "campaign", campaign.id, user_id, {"message": message.id}
    )


def _replan(campaign: Campaign, user_id: str | None, now: datetime) -> None:
    # A large campaign re-plans in a job after commit (409 while another action is pending).
    if campaign.status == CampaignStatus.RUNNING:
        db.session.flush()
        request_replan(campaign, user_id, now)
