"""What the Inbox page shows: replies per campaign, bounces, auto-replies; newest first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from webapp.extensions import db
from webapp.models import Campaign, EventType, Lead, Message, MessageEvent

TABS = {
    "replies": (_l("Replies"), (EventType.REPLIED,)),
    "bounces": (_l("Bounces"), (EventType.BOUNCED, EventType.SOFT_BOUNCE)),
    "auto_replies": (_l("Auto-replies"), (EventType.AUTO_REPLIED,)),
}
DEFAULT_TAB = "replies"
LIMIT = 300


@dataclass(frozen=True)
class InboxItem:
    """One inbound mail as recorded on the message it belongs to."""

    event_type: str
    at: datetime
    meta: dict[str, Any]
    lead_id: str
    lead_email: str
    lead_company: str | None
    campaign_id: str
    campaign_name: str
    mail_number: int
    domain_used: str


@dataclass
class CampaignReplies:
    campaign_id: str
    campaign_name: str
    items: list[InboxItem] = field(default_factory=list)


def tab_or_default(tab: str | None) -> str:
    """A known tab name (the default for anything else)."""
    return tab if tab in TABS else DEFAULT_TAB


def tab_counts() -> dict[str, int]:
    """How many events each tab holds."""
    rows = db.session.execute(
        sa.select(MessageEvent.event_type, sa.func.count())
        .where(MessageEvent.event_type.in_([t for _, types in TABS.values() for t in types]))
        .group_by(MessageEvent.event_type)
    ).all()
    per_type = dict(rows)
    return {tab: sum(per_type.get(t, 0) for t in types) for tab, (_, types) in TABS.items()}


def inbox_items(tab: str, limit: int = LIMIT) -> list[InboxItem]:
    """The newest events of a tab, with their lead and campaign."""
    _label, types = TABS[tab_or_default(tab)]
    rows = db.session.execute(
        sa.select(
            MessageEvent.event_type,
            MessageEvent.created_at,
            MessageEvent.meta,
            Lead.id,
            Lead.email,
            Lead.company,
            Campaign.id,
            Campaign.name,
            Message.mail_number,
            Message.domain_used,
        )
        .join(Message, Message.id == MessageEvent.message_id)
        .join(Lead, Lead.id == Message.lead_id)
        .join(Campaign, Campaign.id == Message.campaign_id)
        .where(MessageEvent.event_type.in_(types))
        .order_by(MessageEvent.created_at.desc(), MessageEvent.id.desc())
        .limit(limit)
    ).all()
    return [InboxItem(row[0], row[1], row[2] or {}, *row[3:]) for row in rows]


def replies_per_campaign(limit: int = LIMIT) -> list[CampaignReplies]:
    """Replies grouped by campaign; the campaign with the newest reply first."""
    groups: dict[str, CampaignReplies] = {}
    for item in inbox_items("replies", limit):
        group = groups.setdefault(
            item.campaign_id, CampaignReplies(item.campaign_id, item.campaign_name)
        )
        group.items.append(item)
    return list(groups.values())
