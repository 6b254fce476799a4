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
    """A report without its lead warnings (those are counted again on every view), valid
    while the fingerprint of its inputs holds and, for a plan that starts now, until its
    first slot comes."""

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
