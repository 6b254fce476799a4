"""The dispatcher: the database decides what is due and who may send it.

Each pass (every minute in the worker, or `flask dispatch --once`):
1. claims past their lease are settled: never started -> queued again (the job was
   lost, e.g. Redis flushed); started without an outcome -> `uncertain`;
2. for each active domain inside its window whose pace allows a send and which has
   nothing in flight, the next due message of a running campaign is claimed with a
   fresh token (a conditional UPDATE, row-locked with SKIP LOCKED on PostgreSQL);
3. running campaigns with nothing queued or in flight are completed (the send job
   also completes its own campaign, and the worker sweeps once a minute for
   campaigns whose last mails were canceled);
4. after the commits, a send job is enqueued per claim.

When nothing is due and nothing is in flight, the pass is a single statement.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from webapp.database import affected_rows
from webapp.extensions import db
from webapp.models import (
    Campaign,
    CampaignStatus,
    EventType,
    Message,
    MessageEvent,
    MessageStatus,
    SendingDomain,
)
from webapp.queue import SEND_QUEUE, get_queue
from webapp.services.sending.rules import in_sending_window

IN_FLIGHT = (MessageStatus.QUEUED, MessageStatus.SENDING)


@dataclass
class DispatchResult:
    claimed: list[tuple[str, str]] = field(default_factory=list)
    requeued: int = 0
    uncertain: int = 0
    completed: list[str] = field(default_factory=list)


def dispatch_once(now: datetime, enqueue: bool = True) -> DispatchResult:
    """One pass of the dispatcher; commits its own transactions (it is a job's edge)."""
    result = DispatchResult()
    due, in_flight = _probe(now)
    if not (due or in_flight):
        db.session.commit()
        return result  # the idle pass: one statement, two index probes
    if in_flight:
        result.requeued, result.uncertain = settle_expired_claims(now)
        db.session.commit()
    for domain_id in _active_domain_ids():
        claim = claim_next_for_domain(domain_id, now)
        db.session.commit()
        if claim is not None:
            result.claimed.append(claim)
    result.completed = complete_finished_campaigns(now)
    db.session.commit()
    if enqueue:
        queue = get_queue()
        for message_id, token in result.claimed:
            queue.enqueue("send_message", message_id, token, queue=SEND_QUEUE)
    return result


# Two lookups at the left edge of two indexes, with no parameters: the plan never
# degrades to a scan, however many messages are queued for later.
_PROBE = sa.text(
    "SELECT (SELECT min(scheduled_at) FROM messages WHERE status = 'queued') AS next_due, "
    "EXISTS (SELECT 1 FROM messages WHERE status = 'sending') AS in_flight"
)


def _probe(now: datetime) -> tuple[bool, bool]:
    """Is anything due (in any campaign), and is anything in flight?"""
    next_due, in_flight = db.session.execute(_PROBE).one()
    if isinstance(next_due, str):  # SQLite hands back text for a raw min()
        next_due = datetime.fromisoformat(next_due).replace(tzinfo=UTC)
    elif next_due is not None and next_due.tzinfo is None:
        next_due = next_due.replace(tzinfo=UTC)
    return next_due is not None and next_due <= now, bool(in_flight)


def settle_expired_claims(now: datetime) -> tuple[int, int]:
    """Lost claims go back to the queue; started ones without an outcome become uncertain."""
    lease = timedelta(seconds=current_app.config["SEND_LEASE_SECONDS"])
    claims = db.session.execute(
        sa.update(Message)
        .where(
            Message.status == MessageStatus.SENDING,
            Message.send_started_at.is_(None),
            Message.claimed_at < now - lease,
        )
        .values(status=MessageStatus.QUEUED, claim_token=None, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    lost = affected_rows(claims)
    unknown = list(
        db.session.execute(
            sa.update(Message)
            .where(Message.status == MessageStatus.SENDING, Message.send_started_at < now - lease)
            .values(status=MessageStatus.UNCERTAIN, last_error="no outcome within the send lease")
            .returning(Message.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    if unknown:
        db.session.execute(
            sa.insert(MessageEvent),
            [
                {
                    "message_id": mid,
                    "event_type": EventType.UNCERTAIN,
                    "meta": {"reason": "lease expired"},
                }
                for mid in unknown
            ],
        )
    return lost, len(unknown)


def _active_domain_ids() -> list[str]:
    return list(
        db.session.execute(
            sa.select(SendingDomain.id)
            .where(SendingDomain.paused.is_(False))
            .order_by(SendingDomain.label)
        ).scalars()
    )


def claim_next_for_domain(domain_id: str, now: datetime) -> tuple[str, str] | None:
    """Claim the domain's next due message if its window, pace and in-flight mail allow."""
    domain = db.session.execute(
        sa.select(SendingDomain)
        .where(SendingDomain.id == domain_id, SendingDomain.paused.is_(False))
        .with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if domain is None or not in_sending_window(domain, now):
        return None  # paused, another dispatcher holds it, or outside its window
    pace = timedelta(seconds=domain.interval_seconds)
    if domain.last_sent_at is not None and now < domain.last_sent_at + pace:
        return None
    in_flight = db.session.execute(
        sa.select(Message.id)
        .where(Message.domain_used == domain.name, Message.status == MessageStatus.SENDING)
        .limit(1)
    ).first()
    if in_flight is not None:
        return None
    parent = aliased(Message)
    candidate = db.session.execute(
        sa.select(Message.id)
        .join(Campaign, Campaign.id == Message.campaign_id)
        .outerjoin(parent, parent.id == Message.parent_message_id)
        .where(
            Message.domain_used == domain.name,
            Message.status == MessageStatus.QUEUED,
            Message.scheduled_at <= now,
            Campaign.status == CampaignStatus.RUNNING,
            # A follow-up waits until its parent went out.
            sa.or_(
                Message.parent_message_id.is_(None),
                parent.status.in_((MessageStatus.SENT, MessageStatus.OPENED)),
            ),
        )
        .order_by(Message.scheduled_at, Message.mail_number.desc())
        .limit(1)
        .with_for_update(of=Message, skip_locked=True)
    ).scalar_one_or_none()
    if candidate is None:
        return None
    token = secrets.token_hex(16)
    claimed = db.session.execute(
        sa.update(Message)
        .where(Message.id == candidate, Message.status == MessageStatus.QUEUED)
        .values(
            status=MessageStatus.SENDING, claim_token=token, claimed_at=now, send_started_at=None
        )
        .execution_options(synchronize_session=False)
    )
    return (candidate, token) if affected_rows(claimed) == 1 else None


def complete_finished_campaigns(now: datetime) -> list[str]:
    """Running campaigns with nothing queued or in flight are completed."""
    pending = sa.select(Message.id).where(
        Message.campaign_id == Campaign.id, Message.status.in_(IN_FLIGHT)
    )
    done = list(
        db.session.execute(
            sa.update(Campaign)
            .where(Campaign.status == CampaignStatus.RUNNING, ~pending.exists())
            .values(status=CampaignStatus.COMPLETED, finished_at=now)
            .returning(Campaign.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    return done
