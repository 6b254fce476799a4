"""KPI summaries kept current by database triggers, and the indexes the plain KPI queries use.

The triggers live in migration 0003 (plpgsql on PostgreSQL, SQL triggers on SQLite):
every INSERT, UPDATE or DELETE on `messages` and `message_events`, bulk statements
included, adjusts these rows in the same transaction. Nothing in Python writes them,
except `webapp.services.kpis.summaries.rebuild_summaries` after a bulk load with triggers off.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import Model
from webapp.models.messages import Message, MessageEvent

COUNTERS = (
    "messages",
    "planned",
    "queued",
    "sending",
    "sent",
    "opened",
    "human_opened",
    "clicked",
    "replied",
    "bounced",
    "failed",
    "canceled",
    "uncertain",
    "unsubscribed",
)
DAY_COUNTERS = ("sent", "opened", "replied", "bounced")


def _counter() -> Mapped[int]:
    return mapped_column(sa.Integer, nullable=False, default=0, server_default="0")


class CampaignKpi(Model):
    """Counts per (campaign, mail number, sending domain): the campaign's figures are sums
    over at most 4 x its domains rows; a row exists only while it has messages."""

    __tablename__ = "campaign_kpis"

    campaign_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    mail_number: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    domain_used: Mapped[str] = mapped_column(sa.String(253), primary_key=True)
    messages: Mapped[int] = _counter()
    planned: Mapped[int] = _counter()
    queued: Mapped[int] = _counter()
    sending: Mapped[int] = _counter()
    sent: Mapped[int] = _counter()
    opened: Mapped[int] = _counter()
    human_opened: Mapped[int] = _counter()
    clicked: Mapped[int] = _counter()
    replied: Mapped[int] = _counter()
    bounced: Mapped[int] = _counter()
    failed: Mapped[int] = _counter()
    canceled: Mapped[int] = _counter()
    uncertain: Mapped[int] = _counter()
    unsubscribed: Mapped[int] = _counter()


class CampaignKpiDay(Model):
    """Per (campaign, sending domain, Europe/Amsterdam day): sent, opened, replied, bounced.

    Each message counts once per figure, on the day of its `sent_at`, its `open_at`,
    its first `replied` event and its bounce (first `bounced` event, else the day it
    was sent or scheduled). A row exists only while one of its figures is not zero.
    """

    __tablename__ = "campaign_kpi_days"
    __table_args__ = (sa.Index("idx_campaign_kpi_days_day", "day", "domain_used"),)

    campaign_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    domain_used: Mapped[str] = mapped_column(sa.String(253), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    sent: Mapped[int] = _counter()
    opened: Mapped[int] = _counter()
    replied: Mapped[int] = _counter()
    bounced: Mapped[int] = _counter()


# The plain per-campaign queries (the reference the summaries are checked against) read
# these instead of the table: every column they need is in the index.
sa.Index(
    "idx_messages_kpis",
    Message.campaign_id,
    Message.mail_number,
    Message.domain_used,
    Message.status,
    Message.sent_at,
    Message.open_at,
    Message.scheduled_at,
)
sa.Index(
    "idx_message_events_kpis",
    MessageEvent.message_id,
    MessageEvent.event_type,
    MessageEvent.created_at,
)
