"""The set-based re-plan (COPY + one UPDATE ... FROM) moves every message exactly where the
earlier one-UPDATE-per-message re-plan did, on random campaigns."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.services.test_plans import NOW, V1, campaign_with
from webapp.extensions import db
from webapp.models import Campaign, Message, MessageStatus
from webapp.services.domains import get_domain, seed_default_domains
from webapp.services.planning.planner import LeadSpec, PlanSettings, plan
from webapp.services.planning.plans import (
    _times,
    auto_domain_for,
    domain_spec,
    load_domains,
    persist_plan,
    plan_request_for,
    taken_slots,
)
from webapp.services.planning.replanning import replan_queued


def row_by_row_replan(campaign: Campaign, now: datetime) -> int:
    """The re-plan as it was before: ORM objects and one UPDATE per moved message."""
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
        messages = by_lead[lead_id]
        waiting = [m for m in messages if m.status == MessageStatus.QUEUED]
        if not waiting:
            continue
        gone = [
            m
            for m in messages
            if m.status != MessageStatus.QUEUED and m.mail_number < waiting[0].mail_number
        ]
        sender = messages[0]
        after = max((m.sent_at or m.scheduled_at for m in gone), default=None)
        numbers = tuple(m.mail_number for m in waiting)
        if sender.domain_used in active:
            spec = LeadSpec(sender.lead_id, numbers, sender.domain_used, sender.alias, after)
        elif gone or not active:
            continue
        else:
            spec = LeadSpec(sender.lead_id, numbers)
        leads.append(spec)
        queued.update({(m.lead_id, m.mail_number): m for m in messages})
    if not leads:
        return 0
    settings_ = PlanSettings(request.start_at, max(0, campaign.followup_days))
    specs = [domain_spec(d) for d in domains]
    planned = plan(specs, _times(taken_slots(domains, now, campaign.id)), leads, settings_, now)
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


def snapshot(campaign_id: str) -> dict[tuple[str, int], tuple[Any, ...]]:
    db.session.expire_all()
    return {
        (m.lead_id, m.mail_number): (
            m.status,
            m.scheduled_at,
            m.domain_used,
            m.alias,
            m.from_email,
            m.reply_to_email,
        )
        for m in db.session.scalars(sa.select(Message).where(Message.campaign_id == campaign_id))
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    leads=st.integers(1, 12),
    steps=st.integers(1, 3),
    done=st.lists(st.tuples(st.integers(0, 40), st.sampled_from(["sent", "canceled", "failed"]))),
    pause_v1=st.booleans(),
    hours_later=st.integers(0, 24 * 9),
)
def test_the_set_based_replan_moves_every_message_where_the_row_by_row_one_did(
    app: Flask,
    leads: int,
    steps: int,
    done: list[tuple[int, str]],
    pause_v1: bool,
    hours_later: int,
) -> None:
    if get_domain(V1) is None:
        seed_default_domains()
    get_domain(V1).paused = False
    campaign = campaign_with(leads, steps=steps, status="running")
    persist_plan(campaign, NOW)
    messages = list(
        db.session.scalars(
            sa.select(Message)
            .where(Message.campaign_id == campaign.id)
            .order_by(Message.scheduled_at, Message.id)
        )
    )
    for index, status in done:
        message = messages[index % len(messages)]
        message.status = status
        if status == "sent":
            message.sent_at = message.scheduled_at
    get_domain(V1).paused = pause_v1
    db.session.flush()
    later = NOW + timedelta(hours=hours_later)

    attempt = db.session.begin_nested()
    moved = replan_queued(campaign, later)
    set_based = snapshot(campaign.id)
    attempt.rollback()
    db.session.expire_all()  # objects loaded inside the savepoint hold its values
    attempt = db.session.begin_nested()
    moved_before = row_by_row_replan(campaign, later)
    row_by_row = snapshot(campaign.id)
    attempt.rollback()

    assert moved == moved_before
    assert set_based == row_by_row
