"""The dispatcher: the database decides what is due and who may send it.

A pass (run by the worker whenever mail falls due, or `flask dispatch --once`):
1. claims past their lease are settled: never started -> queued again (the job was
   lost, e.g. Redis flushed); started without an outcome -> `uncertain`;
2. for each active domain inside its window whose pace allows a send and which has
   nothing in flight, the next due message of a running campaign is claimed with a
   fresh token (a conditional UPDATE, row-locked with SKIP LOCKED on PostgreSQL);
3. running campaigns with nothing queued or in flight are completed (the send job
   also completes its own campaign, and the worker sweeps once a minute for
   campaigns whose last mails were canceled);
4. after the commits, a send job is enqueued per claim.

Each pass also says when the next one has work (`next_at`): the earliest moment a
domain's window opens, its pace gate opens or its next mail falls due. The worker
sleeps until then, so a mail leaves on its slot rather than on the next minute.

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
from webapp.services.planning import DomainCalendar, domain_spec
from webapp.services.sending.rules import pace_gap, pace_opens_at

IN_FLIGHT = (MessageStatus.QUEUED, MessageStatus.SENDING)
# How soon to look again at a domain whose mail is still in flight, or whose row
# another dispatcher holds: a send job usually settles well within this.
RECHECK = timedelta(seconds=1)


@dataclass
class DispatchResult:
    claimed: list[tuple[str, str]] = field(default_factory=list)
    requeued: int = 0
    uncertain: int = 0
    completed: list[str] = field(default_factory=list)
    # The earliest moment the next pass may claim something (None: nothing queued).
    next_at: datetime | None = None

    def expect(self, moment: datetime | None) -> None:
        """Note a moment at which some domain may have work."""
        if moment is not None and (self.next_at is None or moment < self.next_at):
            self.next_at = moment


@dataclass(frozen=True)
class Turn:
    """A domain's part in a pass: what it claimed, and when it may claim again."""

    claim: tuple[str, str] | None = None
    next_at: datetime | None = None


def dispatch_once(now: datetime, enqueue: bool = True) -> DispatchResult:
    """One pass of the dispatcher; commits its own transactions (it is a job's edge)."""
    result = DispatchResult()
    next_due, in_flight = _probe()
    if not in_flight and (next_due is None or next_due > now):
        db.session.commit()
        result.next_at = next_due  # the idle pass: one statement, two index probes
        return result
    if in_flight:
        result.requeued, result.uncertain = settle_expired_claims(now)
        db.session.commit()
    busy = _domains_in_flight()
    for domain in _active_domains():
        turn = _turn_of(domain, now, busy)
        db.session.commit()
        if turn.claim is not None:
            result.claimed.append(turn.claim)
        result.expect(turn.next_at)
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


def _probe() -> tuple[datetime | None, bool]:
    """When is the earliest queued mail due (in any campaign), and is anything in flight?"""
    next_due, in_flight = db.session.execute(_PROBE).one()
    if isinstance(next_due, str):  # SQLite hands back text for a raw min()
        next_due = datetime.fromisoformat(next_due).replace(tzinfo=UTC)
    elif next_due is not None and next_due.tzinfo is None:
        next_due = next_due.replace(tzinfo=UTC)
    return next_due, bool(in_flight)


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


def _active_domains() -> list[SendingDomain]:
    return list(
        db.session.execute(
            sa.select(SendingDomain)
            .where(SendingDomain.paused.is_(False))
            .order_by(SendingDomain.label)
        ).scalars()
    )


def _domains_in_flight() -> set[str]:
    return set(
        db.session.execute(
            sa.select(Message.domain_used).where(Message.status == MessageStatus.SENDING).distinct()
        ).scalars()
    )


def _turn_of(domain: SendingDomain, now: datetime, busy: set[str]) -> Turn:
    """Claim for one domain, or say when it may next: without a lock when it plainly cannot."""
    waiting = _not_yet(domain, now)
    if waiting is not None:
        return waiting
    if domain.name in busy:
        return Turn(next_at=now + RECHECK)
    return claim_next_for_domain(domain.id, now)


def _not_yet(domain: SendingDomain, now: datetime) -> Turn | None:
    """When the domain's window is shut or its pace gate closed: when either next opens."""
    opens = DomainCalendar(domain_spec(domain)).window_open_at(now)
    if opens is None or opens > now:
        return Turn(next_at=opens)
    gate = pace_opens_at(domain)
    if gate is not None and gate > now:
        return Turn(next_at=gate)
    return None


def claim_next_for_domain(domain_id: str, now: datetime) -> Turn:
    """Claim the domain's next due message if its window, pace and in-flight mail allow;
    either way, say when the domain may claim again."""
    domain = db.session.execute(
        sa.select(SendingDomain)
        .where(SendingDomain.id == domain_id, SendingDomain.paused.is_(False))
        .with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if domain is None:
        # Paused (a resume wakes the dispatcher), or another dispatcher holds the row.
        return Turn(next_at=now + RECHECK)
    waiting = _not_yet(domain, now)  # again: the row may have changed before its lock
    if waiting is not None:
        return waiting
    in_flight = db.session.execute(
        sa.select(Message.id)
        .where(Message.domain_used == domain.name, Message.status == MessageStatus.SENDING)
        .limit(1)
    ).first()
    if in_flight is not None:
        return Turn(next_at=now + RECHECK)
    parent = aliased(Message)
    candidate = db.session.execute(
        sa.select(Message.id, Message.scheduled_at)
        .join(Campaign, Campaign.id == Message.campaign_id)
        .outerjoin(parent, parent.id == Message.parent_message_id)
        .where(
            Message.domain_used == domain.name,
            Message.status == MessageStatus.QUEUED,
            Campaign.status == CampaignStatus.RUNNING,
            # Nothing of a campaign whose re-plan (or stop) has not committed yet.
            Campaign.pending_action.is_(None),
            # A follow-up waits until its parent went out.
            sa.or_(
                Message.parent_message_id.is_(None),
                parent.status.in_((MessageStatus.SENT, MessageStatus.OPENED)),
            ),
        )
        .order_by(Message.scheduled_at, Message.mail_number.desc())
        .limit(1)
        .with_for_update(of=Message, skip_locked=True)
    ).first()
    if candidate is None:
        return Turn()  # nothing it could send; a plan or a send wakes the dispatcher
    candidate_id, due = candidate
    if due.tzinfo is None:
        due = due.replace(tzinfo=UTC)
    if due > now:
        return Turn(next_at=due)
    token = secrets.token_hex(16)
    claimed = db.session.execute(
        sa.update(Message)
        .where(Message.id == candidate_id, Message.status == MessageStatus.QUEUED)
        .values(
            status=MessageStatus.SENDING, claim_token=token, claimed_at=now, send_started_at=None
        )
        .execution_options(synchronize_session=False)
    )
    if affected_rows(claimed) != 1:
        return Turn(next_at=now + RECHECK)
    # The send job takes the pace gate a moment from now; look again when it may reopen.
    return Turn(claim=(candidate_id, token), next_at=now + pace_gap(domain.interval_seconds))


def complete_finished_campaigns(now: datetime) -> list[str]:
    """Running campaigns with nothing queued or in flight are completed."""
    pending = sa.select(Message.id).where(
        Message.campaign_id == Campaign.id, Message.status.in_(IN_FLIGHT)
    )
    done = list(
        db.session.execute(
            sa.update(Campaign)
            .where(
                Campaign.status == CampaignStatus.RUNNING,
                Campaign.pending_action.is_(None),
                ~pending.exists(),
            )
            .values(status=CampaignStatus.COMPLETED, finished_at=now)
            .returning(Campaign.id)
            .execution_options(synchronize_session=False)
        ).scalars()
    )
    return done
