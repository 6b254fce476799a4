"""Reading campaigns: the list with progress, one campaign's shape, its messages page by page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Campaign, CampaignKpi, Lead, Message, MessageStatus, Template
from webapp.models.campaigns import CAMPAIGN_STATUSES
from webapp.services.kpis import FIGURES, figures
from webapp.services.planning import action_to_dict, open_actions

MESSAGES_PER_PAGE = 50


def list_campaigns(status: str | None = None) -> list[Campaign]:
    """Campaigns, newest first; only those with `status` when given."""
    query = sa.select(Campaign).order_by(Campaign.created_at.desc(), Campaign.id.desc())
    if status in CAMPAIGN_STATUSES:
        query = query.where(Campaign.status == status)
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
    due = db.session.execute(
        sa.select(Message.campaign_id, sa.func.max(Message.scheduled_at))
        .where(
            Message.campaign_id.in_(campaign_ids),
            Message.status.in_((MessageStatus.QUEUED, MessageStatus.SENDING)),
        )
        .group_by(Message.campaign_id)
    )
    for campaign_id, last_due in due:
        result[campaign_id]["finishes_at"] = last_due
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
        "audience_size": len(audience.lead_ids) if audience else 0,
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
        "followup_attach_report": campaign.followup_attach_report,
        "created_at": _iso(campaign.created_at),
        "updated_at": _iso(campaign.updated_at),
        "started_at": _iso(campaign.started_at),
        "finished_at": _iso(campaign.finished_at),
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


def list_messages(
    campaign_id: str,
    status: str | None = None,
    mail_number: int | None = None,
    domain: str | None = None,
    page: int = 1,
    per_page: int = MESSAGES_PER_PAGE,
) -> tuple[list[dict[str, Any]], int]:
    """One page of a campaign's messages (by schedule), with the lead's address; and the total."""
    conditions = [Message.campaign_id == campaign_id]
    if status:
        conditions.append(Message.status == status)
    if mail_number:
        conditions.append(Message.mail_number == mail_number)
    if domain:
        conditions.append(Message.domain_used == domain)
    total = db.session.execute(
        sa.select(sa.func.count()).select_from(Message).where(*conditions)
    ).scalar_one()
    rows = db.session.execute(
        sa.select(Message, Lead.email, Lead.company)
        .join(Lead, Lead.id == Message.lead_id)
        .where(*conditions)
        .order_by(Message.scheduled_at, Message.mail_number, Message.id)
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
    )
    return [message_to_dict(m, email, company) for m, email, company in rows], int(total)


def message_to_dict(message: Message, email: str, company: str | None) -> dict[str, Any]:
    return {
        "id": message.id,
        "campaign_id": message.campaign_id,
        "lead_id": message.lead_id,
        "email": email,
        "company": company,
        "mail_number": message.mail_number,
        "status": message.status,
        "domain_used": message.domain_used,
        "alias": message.alias,
        "from_email": message.from_email,
        "scheduled_at": _iso(message.scheduled_at),
        "sent_at": _iso(message.sent_at),
        "open_at": _iso(message.open_at),
        "retry_count": message.retry_count,
        "last_error": message.last_error,
    }


def message_domains(campaign_id: str) -> list[str]:
    """The sending domains a campaign's messages use, for the messages table's filter."""
    return list(
        db.session.execute(
            sa.select(Message.domain_used)
            .where(Message.campaign_id == campaign_id)
            .distinct()
            .order_by(Message.domain_used)
        ).scalars()
    )
