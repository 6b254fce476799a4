"""The last dry-run report of each campaign, kept with the fingerprint of what it was made
from (`webapp.services.planning.stored`): a repeated view with nothing changed reads it
instead of planning 100,000 mails again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import Model


class StoredDryRun(Model):
    """A report with its lead warnings, valid while the fingerprint of its inputs (the
    leads' latest change among them) holds and, for a plan that starts now, until its
    first slot comes. A page that finds none fresh has a job make it (`computing`)."""

    __tablename__ = "dry_run_reports"

    campaign_id: Mapped[str] = mapped_column(
        sa.String(32),
        sa.ForeignKey("campaigns.id", ondelete="CASCADE", name="fk_dry_run_reports_campaign"),
        primary_key=True,
    )
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    report: Mapped[dict[str, Any]]
    valid_until: Mapped[datetime | None]
    made_at: Mapped[datetime]
    # The fingerprint a job is making a report for, and since when (one job at a time).
    computing: Mapped[str | None] = mapped_column(sa.String(64))
    computing_since: Mapped[datetime | None]
