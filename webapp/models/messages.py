"""Messages (one planned mail to one lead) and what happened to them."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.database import created_at_column, id_column, one_of
from webapp.extensions import Model


class MessageStatus(StrEnum):
    """Where a message is (docs/rules.md, "Schema"); `chk_messages_status` allows these."""

    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    OPENED = "opened"
    BOUNCED = "bounced"
    FAILED = "failed"
    CANCELED = "canceled"
    UNCERTAIN = "uncertain"


MESSAGE_STATUSES: tuple[str, ...] = tuple(status.value for status in MessageStatus)


class EventType(StrEnum):
    """What happened to a message (`message_events.event_type`)."""

    SENT = "sent"
    OPENED = "opened"
    CLICKED = "clicked"
    REPLIED = "replied"
    AUTO_REPLIED = "auto_replied"
    BOUNCED = "bounced"
    SOFT_BOUNCE = "soft_bounce"
    DEFERRED = "deferred"
    FAILED = "failed"
    UNCERTAIN = "uncertain"
    UNSUBSCRIBED = "unsubscribed"
    CANCELED = "canceled"
    RESENT = "resent"


class CancelReason(StrEnum):
    """Why queued mail was canceled (`last_error`, the event's `reason`), where one place
    writes it and another reads it back or writes the same."""

    CAMPAIGN_STOPPED = "campaign stopped"
    # Switching follow-ups back on revives exactly these.
    FOLLOWUPS_OFF = "follow-ups switched off"
    # A resend of the failed mail brings these back.
    EARLIER_MAIL_FAILED = "earlier mail failed"
    LEAD_REPLIED = "lead replied"
    COMPANY_REPLIED = "company replied"
    # The send-time guard (docs/rules.md, "Sending"): the lead or its company stopped
    # being mailable between planning and sending.
    LEAD_DELETED = "lead deleted"
    LEAD_STOPPED = "lead stopped"
    LEAD_BOUNCED = "lead bounced"
    LEAD_SUPPRESSED = "lead suppressed"
    ADDRESS_SUPPRESSED = "address suppressed"
    DOMAIN_SUPPRESSED = "domain suppressed"
    EMAILED_RECENTLY = "emailed recently"
    LEAD_MAILED_ELSEWHERE = "lead mailed by another campaign"
    COMPANY_MAILED_ELSEWHERE = "company mailed by another campaign"


_queued = sa.text("status = 'queued'")
_active = sa.text("status IN ('queued', 'sent')")
_with_variant = sa.text("variant IS NOT NULL")
VARIANT_KEYS: tuple[str, ...] = ("A", "B", "C", "D")


class Message(Model):
    __tablename__ = "messages"
    __table_args__ = (
        # The review's UNIQUE(campaign_id, lead_id) would forbid follow-ups (docs/rules.md,
        # decision 1).
        sa.UniqueConstraint(
            "campaign_id", "lead_id", "mail_number", name="uk_messages_campaign_lead"
        ),
        sa.UniqueConstraint("smtp_message_id", name="uk_messages_smtp_id"),
        sa.CheckConstraint(one_of("status", MESSAGE_STATUSES), name="chk_messages_status"),
        sa.CheckConstraint("mail_number BETWEEN 1 AND 4", name="chk_messages_mail_number"),
        sa.CheckConstraint("retry_count >= 0", name="chk_messages_retry_count"),
        sa.CheckConstraint(
            f"variant IS NULL OR {one_of('variant', VARIANT_KEYS)}", name="chk_messages_variant"
        ),
        sa.Index("idx_messages_campaign_id", "campaign_id"),
        sa.Index("idx_messages_lead_id", "lead_id"),
        sa.Index("idx_messages_domain_used", "domain_used"),
        sa.Index("idx_messages_scheduled_at", "scheduled_at"),
        sa.Index("idx_messages_status", "status"),
        sa.Index("idx_messages_mail_number", "mail_number"),
        sa.Index("idx_messages_smtp_message_id", "smtp_message_id"),
        sa.Index("idx_messages_x_campaign_message_id", "x_campaign_message_id"),
        sa.Index("idx_messages_status_scheduled_at", "status", "scheduled_at"),
        sa.Index("idx_messages_campaign_status", "campaign_id", "status"),
        sa.Index("idx_messages_domain_scheduled", "domain_used", "scheduled_at"),
        sa.Index("idx_messages_parent_message_id", "parent_message_id"),
        sa.Index(
            "idx_messages_composite_scheduling",
            "domain_used",
            "scheduled_at",
            "status",
            postgresql_where=_queued,
            sqlite_where=_queued,
        ),
        # A campaign's messages in page order, with the filter columns included, so a page
        # (and a count past an OFFSET) is an index-only scan (docs/benchmarks.md).
        sa.Index(
            "idx_messages_campaign_schedule",
            "campaign_id",
            "scheduled_at",
            "mail_number",
            "id",
            postgresql_include=["status", "domain_used"],
        ),
        # The experiment view's one grouped read of a campaign's variants.
        sa.Index(
            "idx_messages_campaign_variant",
            "campaign_id",
            "mail_number",
            "variant",
            postgresql_where=_with_variant,
            sqlite_where=_with_variant,
        ),
        sa.Index(
            "idx_messages_active_campaigns",
            "campaign_id",
            "status",
            "scheduled_at",
            postgresql_where=_active,
            sqlite_where=_active,
        ),
    )

    id: Mapped[str] = id_column()
    campaign_id: Mapped[str] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE", name="fk_messages_campaign")
    )
    lead_id: Mapped[str] = mapped_column(
        sa.ForeignKey("leads.id", ondelete="CASCADE", name="fk_messages_lead")
    )

    domain_used: Mapped[str] = mapped_column(sa.String(253))
    scheduled_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    mail_number: Mapped[int] = mapped_column(default=1, server_default="1")
    alias: Mapped[str] = mapped_column(
        sa.String(64), default="christian", server_default="christian"
    )
    from_email: Mapped[str | None] = mapped_column(sa.String(320))
    reply_to_email: Mapped[str | None] = mapped_column(sa.String(320))

    status: Mapped[str] = mapped_column(
        sa.String(16), default=MessageStatus.QUEUED, server_default=MessageStatus.QUEUED.value
    )
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    open_at: Mapped[datetime | None]
    # At-most-once sending: the dispatcher claims a message with a fresh token; only the
    # job holding that token may start it, and `send_started_at` is committed before SMTP.
    # A claim past its lease that never started was lost and is queued again; one that
    # started but has no outcome becomes `uncertain` and is never retried automatically.
    claimed_at: Mapped[datetime | None]
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    send_started_at: Mapped[datetime | None]

    parent_message_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("messages.id", ondelete="SET NULL", name="fk_messages_parent")
    )
    is_followup: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    retry_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # The step's variant this lead gets (A-D), fixed when planned; None: no experiment.
    variant: Mapped[str | None] = mapped_column(sa.String(1))
    # The subject as handed to SMTP: what a follow-up's `Re:` and the reply match read.
    subject: Mapped[str | None] = mapped_column(sa.Text)

    # Made before sending and stored, so a reply or a bounce can be matched to it.
    smtp_message_id: Mapped[str | None] = mapped_column(sa.String(998))
    x_campaign_message_id: Mapped[str | None] = mapped_column(sa.String(255))

    with_image: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    with_report: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    created_at: Mapped[datetime] = created_at_column()


class MessageEvent(Model):
    __tablename__ = "message_events"
    __table_args__ = (
        sa.Index("idx_message_events_message_id", "message_id"),
        sa.Index("idx_message_events_event_type", "event_type"),
        sa.Index("idx_message_events_created_at", "created_at"),
        sa.Index("idx_message_events_type_created", "event_type", "created_at"),
    )

    id: Mapped[str] = id_column()
    message_id: Mapped[str] = mapped_column(
        sa.ForeignKey("messages.id", ondelete="CASCADE", name="fk_events_message")
    )
    # One of EventType.
    event_type: Mapped[str] = mapped_column(sa.String(32))
    meta: Mapped[dict[str, Any] | None]
    user_agent: Mapped[str | None] = mapped_column(sa.Text)
    ip_address: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = created_at_column()
