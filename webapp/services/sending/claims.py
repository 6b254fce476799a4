"""Claiming due mail: for every domain that may send now, its next due message at once.

The dispatcher decides in Python which domains are open (window, working days and
holidays need each domain's calendar), then claims for all of them together. On
PostgreSQL that is one statement, whatever the number of domains: the domain rows are
locked with SKIP LOCKED and re-checked, a LATERAL subquery picks each domain's next
message (row-locked, SKIP LOCKED), and an UPDATE claims those already due. SQLite has a
single writer and runs the same checks domain by domain in one transaction.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, BIT
from sqlalchemy.orm import aliased

from webapp.database import UTCDateTime, affected_rows
from webapp.extensions import db
from webapp.models import Campaign, CampaignStatus, Message, MessageStatus, SendingDomain
from webapp.services.planning import send_offset
from webapp.services.sending.rules import SENT_STATUSES


def claimable_campaign() -> sa.ColumnElement[bool]:
    """The campaigns whose mail the dispatcher may claim (the one place that says so)."""
    # Nothing of a campaign whose start, re-plan or stop has not committed yet.
    return sa.and_(Campaign.status == CampaignStatus.RUNNING, Campaign.pending_action.is_(None))


@dataclass(frozen=True)
class Opening:
    """A domain that, as read, is inside its window with its pace gate open and nothing
    in flight; the claim checks again under the row lock that it still is."""

    domain_id: str
    name: str
    seen: datetime  # its updated_at when read: an edit since then skips it this pass
    gate: datetime  # the latest last_sent_at that lets it send now (now - pace gap)
    # Human timing: when today's window closes and the interval, which bound where in its
    # slot a message goes (`send_offset`); None: every message goes on its slot.
    window_end: datetime | None = None
    interval_seconds: int = 0


@dataclass(frozen=True)
class Pick:
    """A domain's part of a claim: its next sendable message, and whether it was claimed.

    A domain the claim skipped (locked by another dispatcher, or changed since read)
    has no Pick at all; one with nothing it could send has a Pick without a message.
    """

    message_id: str | None = None
    due: datetime | None = None
    token: str | None = None
    claimed: bool = False


def domains_in_flight() -> sa.Select[str | None]:
    """The domains with a send claimed or started (a subquery: hashed, read once)."""
    return sa.select(Message.domain_used).where(
        Message.status == MessageStatus.SENDING, Message.domain_used.is_not(None)
    )


def next_message(domain_name: sa.ColumnElement[str]) -> sa.Select[str, datetime]:
    """The domain's next message it may send: queued, of a claimable campaign, and a
    follow-up only once its parent went out. Row-locked, skipping rows others hold."""
    parent = aliased(Message)
    return (
        sa.select(Message.id.label("message_id"), Message.scheduled_at)
        .join(Campaign, Campaign.id == Message.campaign_id)
        .outerjoin(parent, parent.id == Message.parent_message_id)
        .where(
            Message.domain_used == domain_name,
            Message.status == MessageStatus.QUEUED,
            claimable_campaign(),
            sa.or_(Message.parent_message_id.is_(None), parent.status.in_(SENT_STATUSES)),
        )
        .order_by(Message.scheduled_at, Message.mail_number.desc())
        .limit(1)
        .with_for_update(of=Message, skip_locked=True)
    )


def _still_open(
    seen: sa.ColumnElement[datetime], gate: sa.ColumnElement[datetime]
) -> list[sa.ColumnElement[bool]]:
    """What made the domain an opening, checked again on its current row."""
    return [
        SendingDomain.paused.is_(False),
        SendingDomain.updated_at == seen,
        sa.or_(SendingDomain.last_sent_at.is_(None), SendingDomain.last_sent_at <= gate),
        SendingDomain.name.not_in(domains_in_flight()),
    ]


def claim_openings(openings: list[Opening], now: datetime) -> dict[str, Pick]:
    """Claim each open domain's next message if it is due; a Pick per domain not skipped."""
    if not openings:
        return {}
    if db.session.get_bind().dialect.name == "postgresql":
        return _claim_together(openings, now)
    return {
        opening.domain_id: pick
        for opening in openings
        if (pick := _claim_one(opening, now)) is not None
    }


def _claim_together(openings: list[Opening], now: datetime) -> dict[str, Pick]:
    """One statement for every opening (PostgreSQL)."""
    tokens = [secrets.token_hex(16) for _ in openings]
    given = (
        sa.func.unnest(
            sa.bindparam("ids", [o.domain_id for o in openings], type_=ARRAY(sa.String)),
            sa.bindparam("seen", [o.seen for o in openings], type_=ARRAY(UTCDateTime())),
            sa.bindparam("gates", [o.gate for o in openings], type_=ARRAY(UTCDateTime())),
            sa.bindparam("tokens", tokens, type_=ARRAY(sa.String)),
            sa.bindparam("ends", [o.window_end for o in openings], type_=ARRAY(UTCDateTime())),
            sa.bindparam(
                "intervals", [o.interval_seconds for o in openings], type_=ARRAY(sa.Integer)
            ),
        )
        .table_valued("domain_id", "seen", "gate", "token", "window_end", "interval_seconds")
        .render_derived(name="opening")
    )
    ready = (
        sa.select(
            SendingDomain.id,
            SendingDomain.name,
            given.c.token,
            given.c.window_end,
            given.c.interval_seconds,
        )
        .join(given, given.c.domain_id == SendingDomain.id)
        .where(*_still_open(given.c.seen, given.c.gate))
        .with_for_update(of=SendingDomain, skip_locked=True)
        .cte("ready")
    )
    candidate = next_message(ready.c.name).lateral("candidate")
    due = _send_moment_sql(candidate, ready)
    picked = (
        sa.select(
            ready.c.id.label("domain_id"),
            ready.c.token,
            candidate.c.message_id,
            due.label("scheduled_at"),
        )
        .select_from(ready.outerjoin(candidate, sa.true()))
        .cte("picked")
    )
    claimed = (
        sa.update(Message)
        .where(
            Message.id == picked.c.message_id,
            Message.status == MessageStatus.QUEUED,
            picked.c.scheduled_at <= now,
        )
        .values(
            status=MessageStatus.SENDING,
            claim_token=picked.c.token,
            claimed_at=now,
            send_started_at=None,
        )
        .returning(Message.id)
        .cte("claimed")
    )
    rows = db.session.execute(
        sa.select(
            picked.c.domain_id,
            picked.c.message_id,
            picked.c.scheduled_at,
            picked.c.token,
            claimed.c.id.is_not(None),
        ).select_from(picked.outerjoin(claimed, claimed.c.id == picked.c.message_id)),
        execution_options={"synchronize_session": False},
    ).all()
    return {
        domain_id: Pick(message_id, due, token, bool(done))
        for domain_id, message_id, due, token, done in rows
    }


def _send_moment_sql(candidate: Any, ready: Any) -> sa.ColumnElement[datetime]:
    """`send_offset` in SQL: the slot plus a share (the first 16 bits of the md5 of the
    id) of nine tenths of the slot or of what is left of the window, whole seconds."""
    room = sa.func.least(
        ready.c.interval_seconds,
        sa.func.floor(sa.extract("epoch", ready.c.window_end - candidate.c.scheduled_at)).cast(
            sa.BigInteger
        ),
    )
    span = sa.func.greatest(0, room).cast(sa.BigInteger) * 9 // 10
    digits = sa.literal("x") + sa.func.substr(sa.func.md5(candidate.c.message_id), 1, 4)
    share = sa.cast(sa.cast(digits, BIT(16)), sa.Integer)
    offset = share.cast(sa.BigInteger) * span // 65536
    moment = candidate.c.scheduled_at + sa.func.make_interval(0, 0, 0, 0, 0, 0, offset)
    return sa.case((ready.c.window_end.is_(None), candidate.c.scheduled_at), else_=moment)


def _claim_one(opening: Opening, now: datetime) -> Pick | None:
    """The same rules for one domain, in the caller's transaction (SQLite)."""
    still = db.session.execute(
        sa.select(SendingDomain.id).where(
            SendingDomain.id == opening.domain_id,
            *_still_open(sa.literal(opening.seen, UTCDateTime()), sa.literal(opening.gate)),
        )
    ).first()
    if still is None:
        return None
    candidate = db.session.execute(next_message(sa.literal(opening.name))).first()
    if candidate is None:
        return Pick()
    message_id, due = candidate
    if opening.window_end is not None:
        due += send_offset(message_id, due, opening.interval_seconds, opening.window_end)
    if due > now:
        return Pick(message_id, due)
    token = secrets.token_hex(16)
    claimed = db.session.execute(
        sa.update(Message)
        .where(Message.id == message_id, Message.status == MessageStatus.QUEUED)
        .values(
            status=MessageStatus.SENDING, claim_token=token, claimed_at=now, send_started_at=None
        )
        .execution_options(synchronize_session=False)
    )
    return Pick(message_id, due, token, affected_rows(claimed) == 1)
