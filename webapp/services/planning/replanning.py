"""Re-planning: moving a running campaign's queued messages to free slots, per campaign
or for every campaign that sends from a domain."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Campaign, CampaignStatus, Message, MessageStatus
from webapp.queue import wake_dispatcher_after_commit
from webapp.services.planning.planner import LeadSpec, PlanSettings, plan
from webapp.services.planning.plans import (
    _times,
    auto_domain_for,
    domain_spec,
    load_domains,
    plan_request_for,
    taken_slots,
)
from webapp.services.planning.writer import lock_planning

__all__ = ["replan_domain_campaigns", "replan_queued"]


def replan_queued(campaign: Campaign, now: datetime) -> int:
    """Move the campaign's queued messages to free slots from now on; returns how many moved.

    Each lead keeps its order and its sender. A lead whose domain is paused moves to
    another of the campaign's domains if nothing went out to it yet; otherwise it waits
    (its messages stay as they are) until its domain is active again.
    """
    lock_planning()
    wake_dispatcher_after_commit()
    request = plan_request_for(campaign)
    names = request.domains or [name for name in [auto_domain_for(request, now)] if name]
    domains, _unknown = load_domains(names)
    active = {d.name for d in domains if not d.paused}
    rows = list(
        db.session.execute(
            sa.select(Message)
            .where(Message.campaign_id == campaign.id, Message.status != MessageStatus.CANCELED)
            .order_by(Message.lead_id, Message.mail_number)
        ).scalars()
    )
    by_lead: dict[str, list[Message]] = {}
    for message in rows:
        by_lead.setdefault(message.lead_id, []).append(message)
    position = {lead_id: i for i, lead_id in enumerate(request.lead_ids)}
    leads: list[LeadSpec] = []
    queued: dict[tuple[str, int], Message] = {}
    for lead_id in sorted(by_lead, key=lambda i: (position.get(i, len(position)), i)):
        spec = _replan_lead(by_lead[lead_id], active)
        if spec is not None:
            leads.append(spec)
            queued.update({(m.lead_id, m.mail_number): m for m in by_lead[lead_id]})
    if not leads:
        return 0
    settings = PlanSettings(request.start_at, max(0, campaign.followup_days))
    specs = [domain_spec(d) for d in domains]
    planned = plan(specs, _times(taken_slots(domains, now, campaign.id)), leads, settings, now)
    changes = []
    for item in planned:
        message = queued[(item.lead_id, item.mail_number)]
        if (message.scheduled_at, message.domain_used, message.alias) != (
            item.scheduled_at,
            item.domain,
            item.alias,
        ):
            changes.append(
                {
                    "id": message.id,
                    "scheduled_at": item.scheduled_at,
                    "domain_used": item.domain,
                    "alias": item.alias,
                    "from_email": item.from_email,
                    "reply_to_email": item.from_email,
                }
            )
    if changes:
        db.session.execute(sa.update(Message), changes)
        db.session.expire_all()
    return len(changes)


def _replan_lead(messages: list[Message], active: set[str]) -> LeadSpec | None:
    """One lead's queued mails as the planner's input, or None when it waits."""
    waiting = [m for m in messages if m.status == MessageStatus.QUEUED]
    if not waiting:
        return None
    gone = [
        m
        for m in messages
        if m.status != MessageStatus.QUEUED and m.mail_number < waiting[0].mail_number
    ]
    sender = messages[0]
    after = max((m.sent_at or m.scheduled_at for m in gone), default=None)
    numbers = tuple(m.mail_number for m in waiting)
    if sender.domain_used in active:
        return LeadSpec(sender.lead_id, numbers, sender.domain_used, sender.alias, after)
    if gone or not active:
        return None  # its sender is paused and mail already went out: keep the thread
    return LeadSpec(sender.lead_id, numbers)


def replan_domain_campaigns(domain_name: str, now: datetime) -> int:
    """Re-plan every running campaign that sends from a domain (paused, resumed, changed)."""
    moved = 0
    for campaign in db.session.execute(
        sa.select(Campaign)
        .where(Campaign.status == CampaignStatus.RUNNING)
        .order_by(Campaign.created_at)
    ).scalars():
        if domain_name in (campaign.domains or []) or campaign.domain == domain_name:
            moved += replan_queued(campaign, now)
    return moved
