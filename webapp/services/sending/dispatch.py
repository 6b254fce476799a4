"""The dispatcher: the database decides what is due and who may send it.

A pass (run by the worker whenever mail falls due, or `flask dispatch --once`):
1. claims past their lease are settled: never started -> queued again (the job was
   lost, e.g. Redis flushed); started without an outcome -> `uncertain`;
2. the active domains are read in one statement and each one's calendar says whether
   its window is open; for every domain inside its window whose pace allows a send and
   which has nothing in flight, the next due message of a running campaign is claimed
   with a fresh token, all in one statement and one transaction (`claims`);
3. running campaigns with nothing queued or in flight are completed (the send job
   also completes its own campaign, and the worker sweeps once a minute for
   campaigns whose last mails were canceled);
4. after the commits, a send job is enqueued per claim, in one round trip.

Each pass also says when the next one has work (`next_at`): the earliest moment a
domain's window opens, its pace gate opens or its next mail falls due. The worker
sleeps until then, so a mail leaves on its slot rather than on the next minute.

When nothing is due and nothing is in flight, the pass is a single statement; else it
runs a handful, however many domains there are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

import sqlalchemy as sa
from flask import current_app

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
from webapp.services.sending.claims import Opening, Pick, claim_openings, domains_in_flight
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
    openings: dict[str, tuple[Opening, datetime]] = {}
    jitter = bool(current_app.config.get("SEND_JITTER", True))
    for domain, busy in _active_domains():
        closed, opens = _not_yet(domain, now, jitter)
        if closed:
            result.expect(opens)
        elif busy:
            result.expect(now + RECHECK)
        else:
            gap = _gap(domain, jitter)
            calendar = DomainCalendar(domain_spec(domain))
            opening = Opening(
                domain.id,
                domain.name,
                domain.updated_at,
                now - gap,
                calendar.window_end_at(now) if jitter else None,
                domain.interval_seconds,
            )
            # After a claim, the send job takes the pace gate a moment from now.
            openings[domain.id] = (opening, now + gap)
    picks = claim_openings([opening for opening, _ in openings.values()], now)
    db.session.commit()
    for domain_id, (_, reopens) in openings.items():
        result.expect(_next_for(picks.get(domain_id), reopens, now, result))
    result.completed = complete_finished_campaigns(now)
    db.session.commit()
    if enqueue and result.claimed:
        get_queue().enqueue_many(
            "send_message", [list(claim) for claim in result.claimed], queue=SEND_QUEUE
        )
    return result


def _next_for(
    pick: Pick | None, reopens: datetime, now: datetime, result: DispatchResult
) -> datetime | None:
    """Note a domain's claim; say when it may claim again."""
    if pick is None:  # another dispatcher holds its row, or it changed since read
        return now + RECHECK
    if pick.message_id is None:
        return None  # nothing it could send; a plan or a send wakes the dispatcher
    if not pick.claimed:
        assert pick.due is not None
        return pick.due if pick.due > now else now + RECHECK
    assert pick.token is not None
    result.claimed.append((pick.message_id, pick.token))
    return reopens


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


def _active_domains() -> list[tuple[SendingDomain, bool]]:
    """Every unpaused domain with what its calendar and pace need, and whether it has a
    send in flight: one statement, however many domains.

    Plain rows, not loaded models: a pass may run several times a second, and building
    200 models (and expiring them at each commit) was most of its time. A row carries
    the same attributes the calendar and the pace read.
    """
    busy = SendingDomain.name.in_(domains_in_flight()).label("busy")
    rows = db.session.execute(
        sa.select(*_CALENDAR_FIELDS, busy)
        .where(SendingDomain.paused.is_(False))
        .order_by(SendingDomain.label)
    ).all()
    return [(cast("SendingDomain", row), bool(row.busy)) for row in rows]


# What the window, the pace and the claim read of a domain (not its sealed secrets).
_CALENDAR_FIELDS = (
    SendingDomain.id,
    SendingDomain.name,
    SendingDomain.label,
    SendingDomain.interval_seconds,
    SendingDomain.window_start,
    SendingDomain.window_end,
    SendingDomain.working_days,
    SendingDomain.timezone,
    SendingDomain.skip_holidays,
    SendingDomain.aliases,
    SendingDomain.paused,
    SendingDomain.last_sent_at,
    SendingDomain.updated_at,
    SendingDomain.daily_cap,
    SendingDomain.ramp_start,
    SendingDomain.ramp_step,
    SendingDomain.ramp_started_on,
)


def _gap(domain: SendingDomain, jitter: bool) -> timedelta:
    """The least time between two sends of the domain the dispatcher claims for. Mail on
    its slot may start a moment early (`pace_gap`); mail at a random moment inside its
    slot keeps a full interval from the one before it."""
    if jitter:
        return timedelta(seconds=domain.interval_seconds)
    return pace_gap(domain.interval_seconds)


def _not_yet(
    domain: SendingDomain, now: datetime, jitter: bool = False
) -> tuple[bool, datetime | None]:
    """Is the domain's window shut or its pace gate closed, and if so when does it open
    (None: its window never does)?"""
    opens = DomainCalendar(domain_spec(domain)).window_open_at(now)
    if opens is None or opens > now:
        return True, opens
    gate = pace_opens_at(domain)
    if jitter and domain.last_sent_at is not None:
        gate = domain.last_sent_at + _gap(domain, jitter)
    if gate is not None and gate > now:
        return True, gate
    return False, None


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
