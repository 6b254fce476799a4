"""A believable past for the demo: the due mails of running and completed campaigns sent,
opened, clicked, replied to and bounced, with the events tracking and the inbox record."""

from __future__ import annotations

import heapq
import random
from datetime import datetime, timedelta

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import (
    Campaign,
    CampaignStatus,
    EventType,
    Lead,
    Message,
    MessageEvent,
    MessageStatus,
)
from webapp.services.inbox import stop_after_reply
from webapp.services.leads import suppress_lead

# Shares of the mails that went out (a cold campaign that works reasonably well).
BOUNCE_SHARE = 0.03
OPEN_SHARE = 0.45
MACHINE_ONLY_SHARE = 0.3  # of the opened: only an image proxy or privacy relay loaded it
CLICK_SHARE = 0.08
REPLY_SHARE = 0.06
# First lines of the answers, as the inbox shows them.
REPLIES = (
    "Goedemiddag, dat klinkt interessant. Kunt u volgende week dinsdag even bellen?",
    "Graag die quickscan, dank u. Stuur hem maar naar dit adres.",
    "Wij hebben hier op dit moment geen behoefte aan, maar bedankt voor het meedenken.",
    "Hoi, onze website wordt door een ander bureau beheerd. Ik stuur uw mail door.",
    "Wat kost zoiets ongeveer? Dan bespreek ik het met mijn compagnon.",
)


def seed_demo_history(now: datetime, seed: int = 7) -> dict[str, int]:
    """Mark the queued mails due before `now` of running/completed campaigns as delivered,
    with opens, clicks, replies and bounces; returns how many of each it wrote."""
    due = sa.and_(
        Campaign.status.in_((CampaignStatus.RUNNING, CampaignStatus.COMPLETED)),
        Message.scheduled_at < now,
    )
    return deliver_due(due, now, random.Random(seed))


def deliver_due(
    condition: sa.ColumnElement[bool], now: datetime, rng: random.Random
) -> dict[str, int]:
    """Deliver the queued mails matching `condition` as the sender would have, with what
    happened after: opens, clicks, replies and bounces, each applied by the product's own
    rules (a reply stops the lead's remaining mails in the campaign, a hard bounce suppresses
    the lead), so nothing is sent after a reply and nothing is left queued behind one."""
    messages = (
        db.session.execute(
            sa.select(Message)
            .join(Campaign, Campaign.id == Message.campaign_id)
            .where(condition, Message.status == MessageStatus.QUEUED)
            .order_by(Message.scheduled_at, Message.id)
        )
        .scalars()
        .all()
    )
    counts = dict.fromkeys(("sent", "bounced", "opened", "clicked", "replied"), 0)
    # Replies still to come, by when they arrive: one that arrives before a later mail's slot
    # stops that mail, as the send job's own check would.
    replies: list[tuple[datetime, int, Message]] = []

    def event(message: Message, kind: str, at: datetime, **meta: object) -> None:
        db.session.add(
            MessageEvent(message_id=message.id, event_type=kind, meta=meta or None, created_at=at)
        )

    def receive_replies(until: datetime) -> None:
        while replies and replies[0][0] <= until:
            replied_at, _, replied = heapq.heappop(replies)
            event(
                replied,
                EventType.REPLIED,
                replied_at,
                source="inbox",
                excerpt=rng.choice(REPLIES),
                subject="Re: Vindbaarheid in Google",
            )
            stop_after_reply(replied)

    for message in messages:
        at = message.scheduled_at
        receive_replies(at)
        if (
            message.status != MessageStatus.QUEUED
        ):  # canceled by a reply or a bounce before its slot
            continue
        if rng.random() < BOUNCE_SHARE:
            message.status = MessageStatus.BOUNCED
            message.last_error = "550 5.1.1 mailbox unknown"
            event(message, EventType.BOUNCED, at, hard=True, code=550)
            counts["bounced"] += 1
            lead = db.session.get(Lead, message.lead_id)
            if lead is not None:
                suppression = suppress_lead(lead, "hard_bounce", note="SMTP 550 5.1.1")
                suppression.created_at = min(suppression.created_at or at, at)
            continue
        message.status, message.sent_at = MessageStatus.SENT, at
        event(message, EventType.SENT, at, code=250)
        counts["sent"] += 1
        opened_at = at + timedelta(minutes=rng.randint(2, 60 * 48))
        # An open, click or reply that would lie after `now` has not happened yet.
        if rng.random() < OPEN_SHARE and opened_at <= now:
            machine = rng.random() < MACHINE_ONLY_SHARE
            message.status, message.open_at = MessageStatus.OPENED, opened_at
            event(
                message,
                EventType.OPENED,
                opened_at,
                machine=machine,
                reason="apple_mpp" if machine else None,
            )
            counts["opened"] += 1
            clicked_at = opened_at + timedelta(seconds=40)
            if not machine and rng.random() < CLICK_SHARE / OPEN_SHARE and clicked_at <= now:
                event(
                    message,
                    EventType.CLICKED,
                    clicked_at,
                    machine=False,
                    url="https://www.punthelder.nl/vindbaarheid",
                )
                counts["clicked"] += 1
        replied_at = at + timedelta(hours=rng.randint(1, 72))
        if rng.random() < REPLY_SHARE and replied_at <= now:
            heapq.heappush(replies, (replied_at, counts["replied"], message))
            counts["replied"] += 1
    receive_replies(now)
    db.session.flush()
    return counts
