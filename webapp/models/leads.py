"""Leads and the suppression list."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.database import created_at_column, id_column, one_of, utcnow
from webapp.extensions import Model


class LeadStatus(StrEnum):
    """Whether a lead may be mailed (stopped and deleted are separate columns)."""

    ACTIVE = "active"
    SUPPRESSED = "suppressed"
    BOUNCED = "bounced"


class SuppressionReason(StrEnum):
    """Why an address or a domain is never mailed again."""

    UNSUBSCRIBED = "unsubscribed"
    HARD_BOUNCE = "hard_bounce"
    COMPLAINT = "complaint"
    MANUAL = "manual"


LEAD_STATUSES: tuple[str, ...] = tuple(status.value for status in LeadStatus)
SUPPRESSION_REASONS: tuple[str, ...] = tuple(reason.value for reason in SuppressionReason)

_not_deleted_not_stopped = sa.text("deleted_at IS NULL AND stopped = false")
_vars_not_listed = sa.text("filled_vars IS NULL AND deleted_at IS NULL AND stopped = false")

# What the leads search looks in (webapp/services/leads/search.py has it as a query writes
# it): on PostgreSQL a trigram index over this expression finds substrings without reading
# the table (migration 0009). Written as PostgreSQL prints it back, casts and all, so that
# the comparison of models and migrations sees the same expression.
LEAD_SEARCH_TEXT = (
    "lower((((((((email::text || ' '::text) || COALESCE(company, ''::text)) || ' '::text)"
    " || COALESCE(domain, ''::character varying)::text) || ' '::text)"
    " || COALESCE(vars ->> 'first_name'::text, ''::text)) || ' '::text)"
    " || COALESCE(vars ->> 'last_name'::text, ''::text))"
)


class Lead(Model):
    __tablename__ = "leads"
    __table_args__ = (
        sa.UniqueConstraint("email", name="uk_leads_email"),
        sa.CheckConstraint(one_of("status", LEAD_STATUSES), name="chk_leads_status"),
        # Each sort order of the lead list is one range of an index (column, id): pages
        # are read by position (migration 0009 widened status and list_name with id).
        sa.Index("idx_leads_status", "status", "id"),
        sa.Index("idx_leads_list_name", "list_name", "id"),
        sa.Index("idx_leads_created_at", "created_at", "id"),
        sa.Index("idx_leads_company", "company", "id"),
        sa.Index("idx_leads_last_emailed_at", "last_emailed_at"),
        sa.Index("idx_leads_stopped", "stopped"),
        sa.Index("idx_leads_deleted_at", "deleted_at"),
        sa.Index("idx_leads_domain", "domain"),
        # The latest change to any lead: the draft dry run's fingerprint of its leads.
        sa.Index("idx_leads_updated_at", "updated_at"),
        sa.Index("idx_leads_composite_selection", "status", "deleted_at", "stopped", "list_name"),
        sa.Index("idx_leads_last_emailed_domain", "last_emailed_at", "domain"),
        sa.Index(
            "idx_leads_composite_targeting",
            "status",
            "list_name",
            "last_emailed_at",
            "stopped",
            "deleted_at",
            postgresql_where=_not_deleted_not_stopped,
            sqlite_where=_not_deleted_not_stopped,
        ),
        sa.Index(
            "idx_leads_active_targeting",
            "list_name",
            "status",
            "last_emailed_at",
            postgresql_where=sa.text(
                "status = 'active' AND deleted_at IS NULL AND stopped = false"
            ),
            sqlite_where=sa.text("status = 'active' AND deleted_at IS NULL AND stopped = false"),
        ),
        sa.Index(
            "idx_leads_search_trgm",
            sa.text(LEAD_SEARCH_TEXT),
            postgresql_using="gin",
            postgresql_ops={"": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        # Every column the audience funnel reads, so it scans this index instead of the table
        # (migration 0013, docs/benchmarks.md).
        sa.Index(
            "idx_leads_audience",
            "list_name",
            postgresql_include=[
                "created_at",
                "id",
                "status",
                "last_emailed_at",
                "domain",
                "email",
                "filled_vars",
            ],
            postgresql_where=_not_deleted_not_stopped,
            sqlite_where=_not_deleted_not_stopped,
        ),
        # The leads whose filled_vars was too long to store (usually none): read from vars.
        sa.Index(
            "idx_leads_vars_not_listed",
            "list_name",
            postgresql_where=_vars_not_listed,
            sqlite_where=_vars_not_listed,
        ),
    )

    id: Mapped[str] = id_column()
    email: Mapped[str] = mapped_column(sa.String(320))
    company: Mapped[str | None] = mapped_column(sa.Text)
    url: Mapped[str | None] = mapped_column(sa.Text)
    # The company's domain: from url when present, else from the address.
    domain: Mapped[str | None] = mapped_column(sa.String(253))
    status: Mapped[str] = mapped_column(
        sa.String(16), default=LeadStatus.ACTIVE, server_default=LeadStatus.ACTIVE.value
    )
    list_name: Mapped[str | None] = mapped_column(sa.String(200))
    last_emailed_at: Mapped[datetime | None]
    stopped: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    deleted_at: Mapped[datetime | None]
    vars: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # The names of the variables in vars that have a value (not blank), set by the database
    # whenever vars is written (migration 0013): the audience's completeness test reads it.
    # None when the list would pass 1,000 characters: then the builder reads vars.
    filled_vars: Mapped[list[Any] | None] = mapped_column(
        server_default="[]", server_onupdate=sa.FetchedValue()
    )
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=sa.func.now()
    )

    def __repr__(self) -> str:
        return f"<Lead {self.email}>"


class Suppression(Model):
    """An address or a whole domain that must never be mailed again.

    Kept apart from leads so that it survives deleting and re-importing them.
    """

    __tablename__ = "suppressions"
    __table_args__ = (
        sa.UniqueConstraint("email", name="uk_suppressions_email"),
        sa.UniqueConstraint("domain", name="uk_suppressions_domain"),
        sa.CheckConstraint(
            "(email IS NULL) <> (domain IS NULL)", name="chk_suppressions_email_or_domain"
        ),
        sa.CheckConstraint(one_of("reason", SUPPRESSION_REASONS), name="chk_suppressions_reason"),
    )

    id: Mapped[str] = id_column()
    email: Mapped[str | None] = mapped_column(sa.String(320))
    domain: Mapped[str | None] = mapped_column(sa.String(253))
    reason: Mapped[str] = mapped_column(sa.String(16))
    note: Mapped[str | None] = mapped_column(sa.Text)
    created_by_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_column()
