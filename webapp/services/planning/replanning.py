"""Re-planning: moving a running campaign's queued messages to free slots, per campaign
or for every campaign that sends from a domain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from webapp.database import affected_rows
from webapp.extensions import db
from webapp.models import Campaign, CampaignStatus, Message, MessageStatus, PendingAction
from webapp.queue import wake_dispatcher_after_commit
from webapp.services.planning.caps import day_usage
from webapp.services.planning.pending import (
    ActionPending,
    background_messages,
    queued_count,
    record_pending,
)
from webapp.services.planning.planner import LeadSpec, plan
from webapp.services.planning.plans import (
    _times,
    auto_domain_for,
    domain_spec,
    load_domains,
    plan_request_for,
    taken_slots,
)
from webapp.services.planning.writer import copy_line, lock_planning

__all__ = [
    "replan_domain_campaigns",
    "replan_queued",
    "request_domain_replans",
    "request_replan",
]


@dataclass(frozen=True)
class _Row:
    """What re-planning needs of one message: no ORM object, so 100,000 stay small."""

    id: str
    lead_id: str
    mail_number: int
    status: str
    domain_used: str | None
    alias: str | None
    scheduled_at: datetime
    sent_at: datetime | None


_COLUMNS = (
    Message.id,
    Message.lead_id,
    Message.mail_number,
    Message.status,
    Message.domain_used,
    Message.alias,
    Message.scheduled_at,
    Message.sent_at,
)
UPDATED = ("id", "scheduled_at", "domain_used", "alias", "from_email")
_STAGING_DDL = """
CREATE TEMPORARY TABLE IF NOT EXISTS replan_staging (
    id varchar(32) PRIMARY KEY, scheduled_at timestamptz, domain_used varchar(253),
    alias varchar(64), from_email varchar(320)
) ON COMMIT DROP
"""


def replan_queued(campaign: Campaign, now: datetime) -> int:
    """Move the campaign's queued messages to free slots from now on; returns how many moved.

    Each lead keeps its order and its sender. A lead whose domain is paused moves to
    another of the campaign's domains if nothing went out to it yet; otherwise it waits
    (its messages stay as they are) until its domain is active again.
    """
    lock_planning()
    wake_dispatcher_after_commit()
    db.session.flush()
    request = plan_request_for(campaign)
    names = request.domains or [name for name in [auto_domain_for(request, now)] if name]
    domains, _unknown = load_domains(names)
    active = {d.name for d in domains if not d.paused}
    by_lead: dict[str, list[_Row]] = {}
    for values in db.session.execute(
        sa.select(*_COLUMNS)
        .where(Message.campaign_id == campaign.id, Message.status != MessageStatus.CANCELED)
        .order_by(Message.lead_id, Message.mail_number)
    ):
        row = _Row(*values)
        by_lead.setdefault(row.lead_id, []).append(row)
    position = {lead_id: i for i, lead_id in enumerate(request.lead_ids)}
    leads: list[LeadSpec] = []
    queued: dict[tuple[str, int], _Row] = {}
    for lead_id in sorted(by_lead, key=lambda i: (position.get(i, len(position)), i)):
        spec = _replan_lead(by_lead[lead_id], active)
        if spec is not None:
            leads.append(spec)
            queued.update({(m.lead_id, m.mail_number): m for m in by_lead[lead_id]})
    del by_lead
    if not leads:
        return 0
    settings = request.settings()
    specs = [domain_spec(d) for d in domains]
    taken = _times(taken_slots(domains, now, campaign.id))
    planned = plan(specs, taken, leads, settings, now, day_usage(specs, now, campaign.id))
    changes: list[tuple[Any, ...]] = []
    for item in planned:
        message = queued[(item.lead_id, item.mail_number)]
        if (message.scheduled_at, message.domain_used, message.alias) != (
            item.scheduled_at,
            item.domain,
            item.alias,
        ):
            changes.append(
                (message.id, item.scheduled_at, item.domain, item.alias, item.from_email)
            )
    del planned, queued
    if changes:
        write_changes(changes)
    return len(changes)


def write_changes(changes: list[tuple[Any, ...]]) -> int:
    """Move queued messages to their new slots (rows in UPDATED order); returns rows moved.

    PostgreSQL: COPY into a temporary table and one UPDATE ... FROM, instead of one
    statement per message. Elsewhere (SQLite): executemany in chunks.
    """
    session = db.session
    if session.get_bind().dialect.name != "postgresql":
        statement = (
            sa.update(Message.__table__)
            .where(Message.__table__.c.id == sa.bindparam("b_id"))
            .where(Message.__table__.c.status == MessageStatus.QUEUED)
            .values(
                scheduled_at=sa.bindparam("b_scheduled_at"),
                domain_used=sa.bindparam("b_domain_used"),
                alias=sa.bindparam("b_alias"),
                from_email=sa.bindparam("b_from_email"),
                reply_to_email=sa.bindparam("b_from_email"),
            )
        )
        moved = 0
        for offset in range(0, len(changes), 5000):
            chunk = changes[offset : offset + 5000]
            result = session.execute(
                statement,
                [dict(zip([f"b_{c}" for c in UPDATED], row, strict=True)) for row in chunk],
            )
            moved += affected_rows(result)
        session.expire_all()
        return moved
    session.execute(sa.text(_STAGING_DDL))
    session.execute(sa.text("TRUNCATE replan_staging"))
    driver = session.connection().connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY replan_staging ({', '.join(UPDATED)}) FROM STDIN") as copy,
    ):
        for offset in range(0, len(changes), 5000):
            copy.write("".join(copy_line(row) for row in changes[offset : offset + 5000]))
    result = session.execute(
        sa.text(
            "UPDATE messages m SET scheduled_at = s.scheduled_at, domain_used = s.domain_used,"
            " alias = s.alias, from_email = s.from_email, reply_to_email = s.from_email"
            " FROM replan_staging s WHERE m.id = s.id AND m.status = 'queued'"
        )
    )
    session.expire_all()
    return affected_rows(result)


def _replan_lead(messages: list[_Row], active: set[str]) -> LeadSpec | None:
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


def request_replan(campaign: Campaign, user_id: str | None, now: datetime) -> int | None:
    """Re-plan a running campaign: here, when it holds few queued messages (returns how many
    moved), else as a job after commit (returns None). ActionPending while another action
    of the campaign has not finished."""
    total = queued_count(campaign.id)
    if campaign.pending_action:
        raise ActionPending(campaign.name, campaign.pending_action)
    if total <= background_messages():
        return replan_queued(campaign, now)
    recorded = record_pending(
        campaign, PendingAction.REPLAN, user_id, total, Campaign.status == CampaignStatus.RUNNING
    )
    if recorded is None and campaign.pending_action:
        raise ActionPending(campaign.name, campaign.pending_action)
    return None


def request_domain_replans(
    domain_name: str, user_id: str | None, now: datetime, *, pausing: bool = False
) -> int:
    """After a domain's pace, window or pause changed: re-plan every running campaign on it,
    in this transaction when they hold few queued messages, else one job per campaign.
    Returns how many campaigns wait for a job. ActionPending if one of them is busy, unless
    the domain is being paused: a pause always holds at once (the dispatcher claims nothing
    from a paused domain), and a busy campaign's own job plans with the domain as it then is."""
    campaigns = _running_on(domain_name)
    busy = [c for c in campaigns if c.pending_action]
    if busy and not pausing:
        raise ActionPending(busy[0].name, str(busy[0].pending_action))
    campaigns = [c for c in campaigns if not c.pending_action]
    totals = {c.id: queued_count(c.id) for c in campaigns}
    if sum(totals.values()) <= background_messages():
        for campaign in campaigns:
            replan_queued(campaign, now)
        return 0
    for campaign in campaigns:
        recorded = record_pending(
            campaign,
            PendingAction.REPLAN,
            user_id,
            totals[campaign.id],
            Campaign.status == CampaignStatus.RUNNING,
        )
        if recorded is None and campaign.pending_action:
            raise ActionPending(campaign.name, campaign.pending_action)
    return len(campaigns)


def _running_on(domain_name: str) -> list[Campaign]:
    return [
        campaign
        for campaign in db.session.execute(
            sa.select(Campaign)
            .where(Campaign.status == CampaignStatus.RUNNING)
            .order_by(Campaign.created_at)
        ).scalars()
        if domain_name in (campaign.domains or []) or campaign.domain == domain_name
    ]


def replan_domain_campaigns(domain_name: str, now: datetime) -> int:
    """Re-plan every running campaign that sends from a domain (paused, resumed, changed)."""
    return sum(replan_queued(campaign, now) for campaign in _running_on(domain_name))
