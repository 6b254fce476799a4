"""Campaigns and their audience snapshots."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.database import created_at_column, id_column, one_of, utcnow
from webapp.extensions import Model

if TYPE_CHECKING:
    from webapp.models.templates import Template


class CampaignStatus(StrEnum):
    """draft -> running -> paused -> running -> completed; stopped from draft, running, paused."""

    DRAFT = "draft"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"


CAMPAIGN_STATUSES: tuple[str, ...] = tuple(status.value for status in CampaignStatus)


class PendingAction(StrEnum):
    """A long change a campaign is waiting for: it runs as a job, outside the request."""

    START = "start"
    RESUME = "resume"
    STOP = "stop"
    REPLAN = "replan"


PENDING_ACTIONS: tuple[str, ...] = tuple(action.value for action in PendingAction)


class ActionStatus(StrEnum):
    """pending (recorded) -> running (a worker holds it) -> done or failed."""

    PENDING = "pending"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


ACTION_STATUSES: tuple[str, ...] = tuple(status.value for status in ActionStatus)

_live = sa.text("status IN ('running', 'paused')")


class Campaign(Model):
    __tablename__ = "campaigns"
    __table_args__ = (
        sa.CheckConstraint(one_of("status", CAMPAIGN_STATUSES), name="chk_campaigns_status"),
        sa.CheckConstraint("followup_days >= 0", name="chk_campaigns_followup_days"),
        sa.CheckConstraint(
            f"pending_action IS NULL OR {one_of('pending_action', PENDING_ACTIONS)}",
            name="chk_campaigns_pending_action",
        ),
        sa.CheckConstraint(
            "archived_at IS NULL OR status IN ('completed', 'stopped')",
            name="chk_campaigns_archived_finished",
        ),
        sa.CheckConstraint(
            "auto_winner_min_sends IS NULL OR auto_winner_min_sends >= 1",
            name="chk_campaigns_auto_winner_min_sends",
        ),
        sa.Index("idx_campaigns_name", "name"),
        sa.Index("idx_campaigns_domain", "domain"),
        sa.Index("idx_campaigns_status", "status"),
        sa.Index("idx_campaigns_start_at", "start_at"),
        sa.Index("idx_campaigns_status_start_at", "status", "start_at"),
        sa.Index("idx_campaigns_domain_status", "domain", "status"),
        sa.Index(
            "idx_campaigns_composite_status",
            "status",
            "start_at",
            "domain",
            postgresql_where=_live,
            sqlite_where=_live,
        ),
    )

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(sa.Text)
    template_id: Mapped[str] = mapped_column(sa.ForeignKey("templates.id", ondelete="RESTRICT"))
    # The auto-assigned sending domain (the original review's column); `domains` holds all of them
    # when the marketer chose several.
    domain: Mapped[str | None] = mapped_column(sa.String(253))
    domains: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    start_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(
        sa.String(16), default=CampaignStatus.DRAFT, server_default=CampaignStatus.DRAFT.value
    )

    followup_enabled: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    followup_days: Mapped[int] = mapped_column(default=3, server_default="3")
    # Working days before mail 2, 3 and 4 each ([n2, n3, n4], or fewer); empty: followup_days
    # before every follow-up.
    step_delays: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    followup_attach_report: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # A reply from one lead stops every lead of that company domain.
    stop_company_on_reply: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    track_opens: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    track_clicks: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    created_by_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # Set while a start, resume, stop or re-plan waits for its job: no second action may
    # begin, and the dispatcher claims none of the campaign's mail. The job clears it in
    # the same transaction that applies the change.
    pending_action: Mapped[str | None] = mapped_column(sa.String(16))
    # The declared winner of each step's experiment: {"2": "B"}; queued mail of that step
    # moved to it, and mail planned later gets it.
    variant_winners: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    # Declare a winner by itself once each variant has this many sends and one is best
    # with probability >= 95%; None: only by hand.
    auto_winner_min_sends: Mapped[int | None]
    # A finished campaign put out of the default list; it keeps everything.
    archived_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=sa.func.now()
    )

    template: Mapped[Template] = relationship(lazy="joined")
    audience: Mapped[CampaignAudience | None] = relationship(
        back_populates="campaign", cascade="all, delete-orphan", passive_deletes=True
    )


class CampaignAudience(Model):
    """The snapshot of selected lead ids and the filter settings that chose them."""

    __tablename__ = "campaign_audience"
    __table_args__ = (sa.Index("idx_campaign_audience_campaign_id", "campaign_id"),)

    id: Mapped[str] = id_column()
    campaign_id: Mapped[str] = mapped_column(
        sa.ForeignKey("campaigns.id", ondelete="CASCADE", name="fk_audience_campaign")
    )
    # Deferred: a snapshot may hold hundreds of thousands of ids, and only planning reads them.
    lead_ids: Mapped[list[Any]] = mapped_column(default=list, deferred=True)
    # len(lead_ids), set by the database whenever lead_ids is written (migration 0010).
    lead_count: Mapped[int] = mapped_column(server_default="0", server_onupdate=sa.FetchedValue())
    list_names: Mapped[list[Any]] = mapped_column(default=list, server_default="[]")
    # What the dry run warns about the leads, counted when the campaign started (None for a
    # draft): a started campaign's dry run tells what was true then and reads no lead rows.
    lead_checks: Mapped[dict[str, Any] | None] = mapped_column(deferred=True)
    only_complete: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    exclude_suppressed: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    exclude_recent_days: Mapped[int | None] = mapped_column(default=14, server_default="14")
    one_per_domain: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = created_at_column()

    campaign: Mapped[Campaign] = relationship(back_populates="audience")


class CampaignAction(Model):
    """One start / resume / stop / re-plan run outside the request: its lease and progress.

    Written apart from the campaign row (which the job holds locked until it commits), so
    the page can read the progress while the job's one transaction is still open.
    """

    __tablename__ = "campaign_actions"
    __table_args__ = (
        sa.CheckConstraint(one_of("action", PENDING_ACTIONS), name="chk_campaign_actions_action"),
        sa.CheckConstraint(one_of("status", ACTION_STATUSES), name="chk_campaign_actions_status"),
        sa.Index("idx_campaign_actions_campaign_id", "campaign_id", "created_at"),
        sa.Index(
            "idx_campaign_actions_open",
            "status",
            postgresql_where=sa.text("status IN ('pending', 'running')"),
            sqlite_where=sa.text("status IN ('pending', 'running')"),
        ),
    )

    id: Mapped[str] = id_column()
    campaign_id: Mapped[str] = mapped_column(sa.ForeignKey("campaigns.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(
        sa.String(16), default=ActionStatus.PENDING, server_default=ActionStatus.PENDING.value
    )
    # What the job is doing now (planning, writing) and how far it got.
    phase: Mapped[str | None] = mapped_column(sa.String(32))
    done: Mapped[int] = mapped_column(default=0, server_default="0")
    total: Mapped[int] = mapped_column(default=0, server_default="0")
    # Messages written, moved or canceled, once done.
    affected: Mapped[int | None]
    error: Mapped[str | None] = mapped_column(sa.Text)
    requested_by_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = created_at_column()
    started_at: Mapped[datetime | None]
    # The running job's lease: renewed every few seconds; a stale one lost its process.
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
