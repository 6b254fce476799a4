"""A campaign's messages page by page: keyset pagination over (scheduled_at, mail_number, id).

A page never counts or skips the rows before it: the next page starts after the last row's
key and the previous one ends before the first row's key, so page 2,000 costs what page 1
does. The key travels in an opaque cursor (base64 of a small JSON list) that is checked
before use. `page` is still read (an OFFSET) so that old links keep working. Totals come
from the KPI summaries whenever the filter maps onto their columns.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from webapp.extensions import db
from webapp.models import CampaignKpi, Lead, Message, MessageStatus, SendingDomain
from webapp.services.errors import InvalidInput
from webapp.services.planning import DomainCalendar, domain_spec

MESSAGES_PER_PAGE = 50
# Status filters with a counter of their own in campaign_kpis; the rest are counted.
SUMMARY_STATUSES = {
    MessageStatus.QUEUED: CampaignKpi.queued,
    MessageStatus.SENDING: CampaignKpi.sending,
    MessageStatus.FAILED: CampaignKpi.failed,
    MessageStatus.CANCELED: CampaignKpi.canceled,
    MessageStatus.UNCERTAIN: CampaignKpi.uncertain,
}
_CURSOR_VERSION = 1
_MAX_CURSOR = 512


@dataclass(frozen=True)
class MessageCursor:
    """Where a page starts: after (or, going back, before) one message's sort key.

    `position` is the index of the page's first row, only for showing "51-100 of 70,000".
    """

    scheduled_at: datetime
    mail_number: int
    message_id: str
    before: bool = False
    position: int = 0

    def encode(self) -> str:
        raw = [
            _CURSOR_VERSION,
            "b" if self.before else "a",
            self.scheduled_at.isoformat(),
            self.mail_number,
            self.message_id,
            self.position,
        ]
        text = json.dumps(raw, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(text).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> MessageCursor:
        """The cursor a token holds; InvalidInput naming `cursor` when it holds none."""
        try:
            if len(token) > _MAX_CURSOR:
                raise ValueError
            text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            version, way, moment, number, message_id, position = json.loads(text)
            if version != _CURSOR_VERSION or way not in ("a", "b"):
                raise ValueError
            if not isinstance(moment, str) or not isinstance(message_id, str):
                raise ValueError
            if type(number) is not int or type(position) is not int or position < 0:
                raise ValueError
            scheduled_at = datetime.fromisoformat(moment)
            if scheduled_at.tzinfo is None or not 1 <= number <= 4 or len(message_id) > 64:
                raise ValueError
        except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
            raise InvalidInput(
                {"cursor": _("not a cursor this list gave out")}, _("invalid cursor")
            ) from None
        return cls(scheduled_at, number, message_id, way == "b", position)


@dataclass
class MessagePage:
    """One page of messages, the total for the filter, and cursors to its neighbours."""

    items: list[dict[str, Any]]
    total: int
    position: int
    next_cursor: str | None = None
    prev_cursor: str | None = None
    filters: dict[str, Any] = field(default_factory=dict)


def _conditions(
    campaign_id: str, status: str | None, mail_number: int | None, domain: str | None
) -> list[sa.ColumnElement[bool]]:
    conditions = [Message.campaign_id == campaign_id]
    if status:
        conditions.append(Message.status == status)
    if mail_number:
        conditions.append(Message.mail_number == mail_number)
    if domain:
        conditions.append(Message.domain_used == domain)
    return conditions


def count_messages(
    campaign_id: str, status: str | None, mail_number: int | None, domain: str | None
) -> int:
    """How many messages match: a sum over the campaign's summary rows where it can be."""
    if not status or status in SUMMARY_STATUSES:
        column = SUMMARY_STATUSES[MessageStatus(status)] if status else CampaignKpi.messages
        query = sa.select(sa.func.coalesce(sa.func.sum(column), 0)).where(
            CampaignKpi.campaign_id == campaign_id
        )
        if mail_number:
            query = query.where(CampaignKpi.mail_number == mail_number)
        if domain:
            query = query.where(CampaignKpi.domain_used == domain)
        return int(db.session.execute(query).scalar_one())
    conditions = _conditions(campaign_id, status, mail_number, domain)
    count = sa.select(sa.func.count()).select_from(Message).where(*conditions)
    return int(db.session.execute(count).scalar_one())


def list_messages(
    campaign_id: str,
    status: str | None = None,
    mail_number: int | None = None,
    domain: str | None = None,
    page: int = 1,
    per_page: int = MESSAGES_PER_PAGE,
    cursor: MessageCursor | None = None,
) -> MessagePage:
    """One page of a campaign's messages by schedule, with the lead's address.

    With a cursor the page starts after (or ends before) its key; without one, `page`
    counts pages from the start.
    """
    conditions = _conditions(campaign_id, status, mail_number, domain)
    key = sa.tuple_(Message.scheduled_at, Message.mail_number, Message.id)
    ascending = (Message.scheduled_at, Message.mail_number, Message.id)
    # The page's ids first, from idx_messages_campaign_schedule alone (its key and the
    # filter columns are all in it: an index-only scan, also past an OFFSET), then only
    # those rows with their leads.
    ids = sa.select(*ascending).where(*conditions)
    if cursor is None:
        position = (max(page, 1) - 1) * per_page
        ids = ids.order_by(*ascending).offset(position)
    elif cursor.before:
        position = max(cursor.position - per_page, 0)
        ids = ids.where(key < sa.tuple_(*_literal_key(cursor)))
        ids = ids.order_by(*(c.desc() for c in ascending))
    else:
        position = cursor.position
        ids = ids.where(key > sa.tuple_(*_literal_key(cursor))).order_by(*ascending)
    page_ids = ids.limit(per_page + 1).subquery("page_ids")
    order = (page_ids.c.scheduled_at, page_ids.c.mail_number, page_ids.c.id)
    query = (
        sa.select(Message, Lead.email, Lead.company)
        .join(page_ids, page_ids.c.id == Message.id)
        .join(Lead, Lead.id == Message.lead_id)
        .order_by(*(c.desc() for c in order) if cursor is not None and cursor.before else order)
    )
    rows = list(db.session.execute(query.limit(per_page + 1)))
    more = len(rows) > per_page
    rows = rows[:per_page]
    if cursor is not None and cursor.before:
        rows.reverse()
        if not more:
            position = 0
    has_prev = more if cursor is not None and cursor.before else position > 0
    has_next = True if cursor is not None and cursor.before else more
    moments = send_moments([m for m, _email, _company in rows])
    items = [message_to_dict(m, email, company, moments.get(m.id)) for m, email, company in rows]
    result = MessagePage(
        items=items,
        total=count_messages(campaign_id, status, mail_number, domain),
        position=position,
        filters={"status": status, "mail_number": mail_number, "domain": domain},
    )
    if rows and has_next:
        last = rows[-1][0]
        result.next_cursor = MessageCursor(
            last.scheduled_at, last.mail_number, last.id, False, position + len(rows)
        ).encode()
    if rows and has_prev:
        first = rows[0][0]
        result.prev_cursor = MessageCursor(
            first.scheduled_at, first.mail_number, first.id, True, position
        ).encode()
    return result


def _literal_key(cursor: MessageCursor) -> tuple[Any, ...]:
    return (
        sa.literal(cursor.scheduled_at, Message.scheduled_at.type),
        sa.literal(cursor.mail_number, Message.mail_number.type),
        sa.literal(cursor.message_id, Message.id.type),
    )


def send_moments(messages: list[Message]) -> dict[str, datetime]:
    """When each queued message goes: its slot plus its place inside the slot (human timing,
    `SEND_JITTER`), as the dispatcher will claim it."""
    queued = [m for m in messages if m.status == MessageStatus.QUEUED]
    if not queued or not current_app.config.get("SEND_JITTER", True):
        return {}
    names = {m.domain_used for m in queued}
    calendars = {
        d.name: DomainCalendar(domain_spec(d))
        for d in db.session.scalars(sa.select(SendingDomain).where(SendingDomain.name.in_(names)))
    }
    return {
        m.id: calendars[m.domain_used].send_moment(m.id, m.scheduled_at)
        for m in queued
        if m.domain_used in calendars
    }


def message_to_dict(
    message: Message, email: str, company: str | None, send_at: datetime | None = None
) -> dict[str, Any]:
    """A message's public shape; `send_at` is when a queued one goes (its slot, `scheduled_at`,
    plus its place inside the slot), else null."""
    if send_at is None and message.status == MessageStatus.QUEUED:
        send_at = message.scheduled_at
    return {
        "id": message.id,
        "campaign_id": message.campaign_id,
        "lead_id": message.lead_id,
        "email": email,
        "company": company,
        "mail_number": message.mail_number,
        "variant": message.variant,
        "status": message.status,
        "domain_used": message.domain_used,
        "alias": message.alias,
        "from_email": message.from_email,
        "scheduled_at": _iso(message.scheduled_at),
        "send_at": _iso(send_at),
        "sent_at": _iso(message.sent_at),
        "subject": message.subject,
        "open_at": _iso(message.open_at),
        "retry_count": message.retry_count,
        "last_error": message.last_error,
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def message_domains(campaign_id: str) -> list[str]:
    """The sending domains a campaign's messages use (from its summary rows), by name."""
    return list(
        db.session.execute(
            sa.select(CampaignKpi.domain_used)
            .where(CampaignKpi.campaign_id == campaign_id)
            .distinct()
            .order_by(CampaignKpi.domain_used)
        ).scalars()
    )
