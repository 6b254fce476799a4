"""The send job: re-check the rules, start under the claim, deliver, record the outcome.

At most once: a mail goes to SMTP only after this job, holding the message's claim
token, has committed `send_started_at` and taken the domain's pace gate in one
transaction. Whatever happens after that commit, the message is never sent again
automatically: an unknown outcome is `uncertain`.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app

from webapp.database import affected_rows, utcnow
from webapp.extensions import db
from webapp.failpoints import failpoint
from webapp.models import (
    Campaign,
    CancelReason,
    EventType,
    Lead,
    Message,
    MessageEvent,
    MessageStatus,
    SendingDomain,
    SuppressionReason,
)
from webapp.services.campaigns import complete_if_done
from webapp.services.leads import suppress_lead
from webapp.services.mail import RenderError
from webapp.services.sending import transport
from webapp.services.sending.domain_health import check_domain_health
from webapp.services.sending.mailer import BuiltMail, build_mail, new_message_id
from webapp.services.sending.rules import check_send_rules, in_sending_window, pace_gap

log = logging.getLogger("webapp.sending")

MAX_ATTEMPTS = 3


def release(message: Message) -> None:
    """Give a claimed message back to the queue, untouched (it was never started)."""
    message.status = MessageStatus.QUEUED
    message.claim_token = None
    message.claimed_at = None


def add_event(message: Message, event_type: str, **meta: object) -> None:
    db.session.add(MessageEvent(message_id=message.id, event_type=event_type, meta=meta or None))


def send_claimed_message(message_id: str, claim_token: str) -> str:
    """Send one claimed message; returns what happened (for logs and tests)."""
    now = utcnow()
    message = db.session.get(Message, message_id)
    if (
        message is None
        or message.status != MessageStatus.SENDING
        or message.claim_token != claim_token
    ):
        return "stale"  # re-claimed, released or decided elsewhere: not this job's to send
    campaign = db.session.get(Campaign, message.campaign_id)
    lead = db.session.get(Lead, message.lead_id)
    domain = db.session.execute(
        sa.select(SendingDomain).where(SendingDomain.name == message.domain_used)
    ).scalar_one_or_none()
    assert campaign is not None and lead is not None

    failpoint("before_rules")
    verdict = check_send_rules(message, campaign, lead, now)
    if verdict.cancel:
        message.status = MessageStatus.CANCELED
        message.last_error = verdict.reason
        add_event(message, EventType.CANCELED, reason=verdict.reason)
        db.session.commit()
        return MessageStatus.CANCELED
    if verdict.wait or domain is None or domain.paused or not in_sending_window(domain, now):
        release(message)
        db.session.commit()
        return "released"

    if message.smtp_message_id is None:
        message.smtp_message_id = new_message_id(domain)
        message.x_campaign_message_id = message.id
    try:
        # Nothing is written while the mail renders: the new Message-ID waits for `_start`.
        # A render may use its whole time limit, and a row locked meanwhile would hold up
        # every dispatcher pass that looks at messages in flight.
        with db.session.no_autoflush:
            built = build_mail(message, campaign, lead, domain, now)
    except RenderError as error:
        message.status = MessageStatus.FAILED
        message.last_error = f"render: {error.message}"
        add_event(
            message, EventType.FAILED, reason="render", detail=error.message, missing=error.missing
        )
        cancel_followups(message, CancelReason.EARLIER_MAIL_FAILED)
        db.session.commit()
        return MessageStatus.FAILED

    server = transport.SmtpServer.of(domain)  # read now: the database may be gone after
    failpoint("before_start")
    if not _start(message, domain, claim_token, now):
        db.session.rollback()
        message = db.session.get(Message, message_id)
        if message is not None and message.claim_token == claim_token:
            release(message)
            db.session.commit()
        return "paced"
    db.session.commit()

    delivery = _deliver(server, built, message_id)
    failpoint("after_smtp")
    outcome = record_delivery(message_id, claim_token, delivery, built, utcnow())
    db.session.commit()

    if complete_if_done(campaign, utcnow()):
        db.session.commit()
    failpoint("after_commit")
    return outcome


def _start(message: Message, domain: SendingDomain, claim_token: str, now: datetime) -> bool:
    """Take the domain's pace gate and mark the send started, or neither."""
    gate = db.session.execute(
        sa.update(SendingDomain)
        .where(
            SendingDomain.id == domain.id,
            SendingDomain.paused.is_(False),
            sa.or_(
                SendingDomain.last_sent_at.is_(None),
                SendingDomain.last_sent_at <= now - pace_gap(domain.interval_seconds),
            ),
        )
        .values(last_sent_at=now)
        .execution_options(synchronize_session=False)
    )
    if affected_rows(gate) != 1:
        return False
    # The domain's first mail under a new warm-up ramp: the ramp starts today (its day).
    db.session.execute(
        sa.update(SendingDomain)
        .where(
            SendingDomain.id == domain.id,
            SendingDomain.ramp_started_on.is_(None),
            SendingDomain.ramp_start.is_not(None),
        )
        .values(ramp_started_on=now.astimezone(ZoneInfo(domain.timezone)).date())
        .execution_options(synchronize_session=False)
    )
    started = db.session.execute(
        sa.update(Message)
        .where(
            Message.id == message.id,
            Message.status == MessageStatus.SENDING,
            Message.claim_token == claim_token,
            Message.send_started_at.is_(None),
        )
        .values(
            send_started_at=now,
            smtp_message_id=message.smtp_message_id,
            x_campaign_message_id=message.x_campaign_message_id,
        )
        .execution_options(synchronize_session=False)
    )
    return affected_rows(started) == 1


def _deliver(server: transport.SmtpServer, built: BuiltMail, message_id: str) -> transport.Delivery:
    if current_app.config.get("MAIL_BACKEND") == "smtp":
        return transport.deliver_smtp(server, built.raw, built.sender, built.recipient)
    return transport.deliver_outbox(current_app.config["OUTBOX_DIR"], built.raw, message_id)


def record_delivery(
    message_id: str,
    claim_token: str,
    delivery: transport.Delivery,
    built: BuiltMail,
    now: datetime,
) -> str:
    """Write what SMTP said: sent, retry later, hard bounce, or uncertain."""
    db.session.expire_all()
    message = db.session.get(Message, message_id)
    if message is None or message.claim_token != claim_token:
        log.error("send outcome for %s arrived without its claim: %s", message_id, delivery)
        return "orphaned"
    lead = db.session.get(Lead, message.lead_id)
    domain = db.session.execute(
        sa.select(SendingDomain).where(SendingDomain.name == message.domain_used)
    ).scalar_one()
    assert lead is not None
    meta = {"code": delivery.code, "text": delivery.text}
    message.subject = built.subject  # as it went (or may have gone) out
    if delivery.kind == transport.SENT:
        # sent_at is the moment the domain's pace gate opened for this mail.
        message.status = MessageStatus.SENT
        message.sent_at = message.send_started_at or now
        message.last_error = None
        message.with_report = built.with_report
        lead.last_emailed_at = message.sent_at
        add_event(message, EventType.SENT, **meta)
    elif delivery.kind == transport.PERMANENT:
        message.status = MessageStatus.BOUNCED
        message.last_error = delivery.detail
        add_event(message, EventType.BOUNCED, hard=True, **meta)
        suppress_lead(lead, SuppressionReason.HARD_BOUNCE, note=f"SMTP {delivery.detail}"[:500])
        check_domain_health(domain, now)
    elif delivery.kind == transport.TEMPORARY:
        message.retry_count += 1
        message.last_error = delivery.detail
        if message.retry_count >= MAX_ATTEMPTS:
            message.status = MessageStatus.FAILED
            add_event(message, EventType.FAILED, attempts=message.retry_count, **meta)
            cancel_followups(message, CancelReason.EARLIER_MAIL_FAILED)
            check_domain_health(domain, now)
        else:
            message.status = MessageStatus.QUEUED
            message.scheduled_at = now + retry_delay(domain, message.retry_count)
            message.claim_token = None
            message.claimed_at = None
            message.send_started_at = None
            add_event(message, EventType.DEFERRED, attempt=message.retry_count, **meta)
    else:
        message.status = MessageStatus.UNCERTAIN
        message.last_error = delivery.detail
        add_event(message, EventType.UNCERTAIN, **meta)
    log.info(
        json.dumps(
            {
                "event": "send",
                "message_id": message.id,
                "campaign_id": message.campaign_id,
                "domain": message.domain_used,
                "mail_number": message.mail_number,
                "outcome": delivery.kind,
                "status": message.status,
                "code": delivery.code,
            }
        )
    )
    return message.status


def cancel_followups(message: Message, reason: str) -> int:
    """Cancel the lead's later queued mails in this campaign (a resend brings them back)."""
    later = list(
        db.session.execute(
            sa.update(Message)
            .where(
                Message.campaign_id == message.campaign_id,
                Message.lead_id == message.lead_id,
                Message.mail_number > message.mail_number,
                Message.status == MessageStatus.QUEUED,
            )
            .values(status=MessageStatus.CANCELED, last_error=reason)
            .returning(Message.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    for message_id in later:
        db.session.add(
            MessageEvent(
                message_id=message_id, event_type=EventType.CANCELED, meta={"reason": reason}
            )
        )
    return len(later)


def retry_delay(domain: SendingDomain, attempt: int) -> timedelta:
    """A later slot: a few intervals on, growing with each attempt (at least 5 minutes)."""
    base = max(domain.interval_seconds, 300)
    return timedelta(seconds=base * 2 ** (attempt - 1))
