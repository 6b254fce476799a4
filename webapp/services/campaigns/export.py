"""A campaign's messages and its KPI table as spreadsheet-safe CSV."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import EventType, Lead, Message, MessageEvent, MessageStatus
from webapp.services.kpis import FIGURES, RATES, VARIANT_FIGURES, kpi_table
from webapp.services.leads import ENGLISH_CSV, CsvStyle, spreadsheet_safe_csv

MESSAGE_COLUMNS = (
    "message_id",
    "lead_email",
    "company",
    "company_domain",
    "mail_number",
    "variant",
    "domain_used",
    "alias",
    "status",
    "scheduled_at",
    "sent_at",
    "open_at",
    "human_opened",
    "clicked",
    "replied_at",
    "bounced",
    "unsubscribed",
    "retry_count",
    "last_error",
)


def _flag(event_type: str, extra: Any = None) -> Any:
    condition = MessageEvent.event_type == event_type
    if extra is not None:
        condition = sa.and_(condition, extra)
    return sa.func.max(sa.case((condition, 1), else_=0))


def message_rows(campaign_id: str) -> Iterator[list[Any]]:
    """One row per message of the campaign, in send order, with what happened to it."""
    machine = MessageEvent.meta["machine"].as_boolean()
    flags = (
        sa.select(
            MessageEvent.message_id,
            _flag(EventType.OPENED, machine.is_(False)).label("human_open"),
            _flag(EventType.CLICKED).label("clicked"),
            sa.func.min(
                sa.case((MessageEvent.event_type == EventType.REPLIED, MessageEvent.created_at))
            ).label("replied_at"),
            _flag(EventType.BOUNCED).label("bounced"),
            _flag(EventType.UNSUBSCRIBED).label("unsubscribed"),
        )
        .join(Message, Message.id == MessageEvent.message_id)
        .where(Message.campaign_id == campaign_id)
        .group_by(MessageEvent.message_id)
        .subquery()
    )
    query = (
        sa.select(Message, Lead.email, Lead.company, Lead.domain, flags)
        .join(Lead, Lead.id == Message.lead_id)
        .outerjoin(flags, flags.c.message_id == Message.id)
        .where(Message.campaign_id == campaign_id)
        .order_by(Message.scheduled_at, Message.mail_number, Message.id)
        .execution_options(yield_per=1000)
    )
    for row in db.session.execute(query):
        message = row.Message
        yield [
            message.id,
            row.email,
            row.company,
            row.domain,
            message.mail_number,
            message.variant or "",
            message.domain_used,
            message.alias,
            message.status,
            message.scheduled_at,
            message.sent_at,
            message.open_at,
            bool(message.open_at is not None and row.human_open),
            bool(row.clicked),
            row.replied_at,
            bool(message.status == MessageStatus.BOUNCED or row.bounced),
            bool(row.unsubscribed),
            message.retry_count,
            message.last_error,
        ]


def messages_csv(campaign_id: str, style: CsvStyle = ENGLISH_CSV) -> Iterator[str]:
    """The campaign's messages as CSV (docs/interfaces.md: GET /campaigns/{id}/export.csv)."""
    return spreadsheet_safe_csv(message_rows(campaign_id), MESSAGE_COLUMNS, style)


def kpi_csv(kpis: dict[str, Any], style: CsvStyle = ENGLISH_CSV) -> Iterator[str]:
    """The KPI table as CSV: the campaign, each mail number, each sending domain."""
    columns = ("scope", "key", *FIGURES, *(name for name, _ in RATES))
    rows = ([row.get(c) for c in columns] for row in kpi_table(kpis))
    return spreadsheet_safe_csv(rows, columns, style)


def experiments_csv(experiments: dict[str, Any], style: CsvStyle = ENGLISH_CSV) -> Iterator[str]:
    """The experiment figures as CSV: one row per step and variant, with its winner."""
    columns = ("mail_number", *VARIANT_FIGURES, "winner")
    rows = (
        [step["mail_number"], *(variant[c] for c in VARIANT_FIGURES), step["winner"] or ""]
        for step in experiments["steps"]
        for variant in step["variants"]
    )
    return spreadsheet_safe_csv(rows, columns, style)
