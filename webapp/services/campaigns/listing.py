"""Reading campaigns: the list with progress and one campaign's shape, from the summaries.

The list answers in a constant number of statements whatever the number of campaigns: the
campaigns with their audience settings (never the snapshot's lead ids: its size is stored),
the KPI summaries, and one statement for when each live campaign's last mail is due.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from webapp.extensions import db
from webapp.models import Campaign, CampaignKpi, Message, MessageStatus, Template
from webapp.models.campaigns import CAMPAIGN_STATUSES
from webapp.services.kpis import FIGURES, figures
from webapp.services.planning import action_to_dict, open_actions


def list_campaigns(status: str | None = None, archived: bool | None = False) -> list[Campaign]:
    """Campaigns, newest first, with their audience settings; only those with `status`.

    Archived campaigns are left out unless `archived` asks for them (True: only those;
    None: all).
    """
    query = (
        sa.select(Campaign)
        .options(selectinload(Campaign.audience))
        .order_by(Campaign.created_at.desc(), Campaign.id.desc())
    )
    if status in CAMPAIGN_STATUSES:
        query = query.where(Campaign.status == status)
    if archived is not None:
        archived_at = Campaign.archived_at
        query = query.where(archived_at.is_not(None) if archived else archived_at.is_(None))
    return list(db.session.execute(query).scalars())


# Status counts shown beside the figures; they never stand in for sent or opened.
PROGRESS_STATUSES = ("queued", "sending", "canceled", "uncertain")


def _empty_progress() -> dict[str, Any]:
    progress: dict[str, Any] = figures({})
    progress.update(dict.fromkeys(PROGRESS_STATUSES, 0), percent=0.0, finishes_at=None)
    return progress


def progress_by_campaign(campaign_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Per campaign: the KPI figures (planned, sent, opened, ... as docs/rules.md defines
    them, from the same summaries as the KPI pages), the live and settled statuses, the
    share of planned mail sent, and when the last live message is due."""
    result = {campaign_id: _empty_progress() for campaign_id in campaign_ids}
    if not campaign_ids:
        return result
    counters = (*FIGURES, *PROGRESS_STATUSES)
    sums = [sa.func.coalesce(sa.func.sum(getattr(CampaignKpi, c)), 0).label(c) for c in counters]
    rows = db.session.execute(
        sa.select(CampaignKpi.campaign_id, *sums)
        .where(CampaignKpi.campaign_id.in_(campaign_ids))
        .group_by(CampaignKpi.campaign_id)
    )
    for row in rows:
        counts = {c: int(getattr(row, c)) for c in counters}
        progress = result[row.campaign_id]
        progress.update(figures(counts))
        progress.update({c: counts[c] for c in PROGRESS_STATUSES})
        if progress["planned"]:
            progress["percent"] = round(100 * progress["sent"] / progress["planned"], 2)
    live = [i for i in campaign_ids if result[i]["queued"] or result[i]["sending"]]
    for campaign_id, last_due in last_due_by_campaign(live).items():
        result[campaign_id]["finishes_at"] = last_due
    return result


def last_due_by_campaign(campaign_ids: list[str]) -> dict[str, datetime]:
    """When the last queued or sending message of each campaign is due, in one statement.

    One scalar max per campaign and status, so each is a backward step on an index
    (`idx_messages_active_campaigns` for queued, `idx_messages_campaign_status` for the few
    in flight) instead of a GROUP BY over every message of the campaigns.
    """
    if not campaign_ids:
        return {}

    def last(status: MessageStatus) -> sa.ScalarSelect[Any]:
        return (
            sa.select(sa.func.max(Message.scheduled_at))
            .where(Message.campaign_id == Campaign.id, Message.status == status)
            .scalar_subquery()
        )

    rows = db.session.execute(
        sa.select(Campaign.id, last(MessageStatus.QUEUED), last(MessageStatus.SENDING)).where(
            Campaign.id.in_(campaign_ids)
        )
    )
    result: dict[str, datetime] = {}
    for campaign_id, queued, sending in rows:
        moments = [m for m in (queued, sending) if m is not None]
        if moments:
            result[campaign_id] = max(moments)
    return result


def template_names(campaigns: list[Campaign]) -> dict[str, str]:
    ids = {c.template_id for c in campaigns}
    if not ids:
        return {}
    rows = db.session.execute(sa.select(Template.id, Template.name).where(Template.id.in_(ids)))
    return {row.id: row.name for row in rows}


def effective_domains(campaign: Campaign) -> list[str]:
    """The domains the campaign sends from: those chosen, else the auto-assigned one."""
    return list(campaign.domains or []) or ([campaign.domain] if campaign.domain else [])


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def campaign_to_dict(campaign: Campaign, progress: dict[str, Any] | None = None) -> dict[str, Any]:
    """The public shape of a campaign (docs/interfaces.md), with its progress."""
    if progress is None:
        progress = progress_by_campaign([campaign.id])[campaign.id]
    audience = campaign.audience
    finishes_at = campaign.finished_at or progress.get("finishes_at")
    return {
        "id": campaign.id,
        "name": campaign.name,
        "status": campaign.status,
        "template_id": campaign.template_id,
        "domain": campaign.domain,
        "domains": effective_domains(campaign),
        "domains_auto": not campaign.domains,
        "audience_size": audience.lead_count if audience else 0,
        "audience": {
            "list_names": list(audience.list_names or []),
            "only_complete": audience.only_complete,
            "exclude_suppressed": audience.exclude_suppressed,
            "exclude_recent_days": audience.exclude_recent_days or None,
            "one_per_domain": audience.one_per_domain,
        }
        if audience
        else None,
        "start_at": _iso(campaign.start_at),
        "followup_enabled": campaign.followup_enabled,
        "followup_days": campaign.followup_days,
        "step_delays": list(campaign.step_delays or []),
        "followup_attach_report": campaign.followup_attach_report,
        "auto_winner_min_sends": campaign.auto_winner_min_sends,
        "variant_winners": dict(campaign.variant_winners or {}),
        "created_at": _iso(campaign.created_at),
        "updated_at": _iso(campaign.updated_at),
        "started_at": _iso(campaign.started_at),
        "finished_at": _iso(campaign.finished_at),
        "archived_at": _iso(campaign.archived_at),
        "finishes_at": _iso(finishes_at),
        "progress": {k: _iso(v) if isinstance(v, datetime) else v for k, v in progress.items()},
        # start / resume / stop / replan while its job has not finished, else null.
        "pending_action": campaign.pending_action,
        "pending": _pending(campaign),
    }


def _pending(campaign: Campaign) -> dict[str, Any] | None:
    """The open action's progress (only read when the campaign waits for one)."""
    if not campaign.pending_action:
        return None
    action = open_actions([campaign.id]).get(campaign.id)
    return action_to_dict(action) if action else None


def campaign_plan(campaign_id: str) -> dict[str, Any]:
    """A started campaign's plan as it stands, from its summary rows: per sending domain the
    planned, sent and queued mail (and planned per mail number), and when its next and last
    queued mail are due (one index step each, no scan of the campaign's messages)."""
    rows = db.session.execute(
        sa.select(CampaignKpi)
        .where(CampaignKpi.campaign_id == campaign_id)
        .order_by(CampaignKpi.domain_used, CampaignKpi.mail_number)
    ).scalars()
    per_domain: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = per_domain.setdefault(
            row.domain_used,
            {"domain": row.domain_used, "planned": 0, "sent": 0, "queued": 0,
             "by_mail_number": {}, "next_slot": None, "last_slot": None},
        )  # fmt: skip
        entry["planned"] += row.planned
        entry["sent"] += row.sent
        entry["queued"] += row.queued
        if row.planned:
            entry["by_mail_number"][str(row.mail_number)] = row.planned
    queued_on = [name for name, entry in per_domain.items() if entry["queued"]]
    if queued_on:

        def edge(domain: str, func: Any) -> sa.ScalarSelect[Any]:
            return (
                sa.select(func(Message.scheduled_at))
                .where(
                    Message.campaign_id == campaign_id,
                    Message.status == MessageStatus.QUEUED,
                    Message.domain_used == domain,
                )
                .scalar_subquery()
            )

        parts = [
            sa.select(
                sa.literal(name).label("domain"),
                edge(name, sa.func.min).label("next_slot"),
                edge(name, sa.func.max).label("last_slot"),
            )
            for name in queued_on
        ]
        for domain, next_slot, last_slot in db.session.execute(sa.union_all(*parts)):
            per_domain[domain].update(next_slot=next_slot, last_slot=last_slot)
    domains = list(per_domain.values())
    next_slots = [d["next_slot"] for d in domains if d["next_slot"] is not None]
    last_slots = [d["last_slot"] for d in domains if d["last_slot"] is not None]
    return {
        "planned": sum(d["planned"] for d in domains),
        "queued": sum(d["queued"] for d in domains),
        "per_domain": domains,
        "next_slot": min(next_slots) if next_slots else None,
        "last_slot": max(last_slots) if last_slots else None,
    }
