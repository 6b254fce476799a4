"""Headline counts for the dashboard."""

from __future__ import annotations

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Campaign, Lead, SendingDomain, Suppression, Template


def overview_counts() -> dict[str, int]:
    """How much is in the system: one round trip to the database."""
    row = db.session.execute(
        sa.select(
            sa.select(sa.func.count())
            .select_from(Lead)
            .where(Lead.deleted_at.is_(None))
            .scalar_subquery()
            .label("leads"),
            sa.select(sa.func.count())
            .select_from(Suppression)
            .scalar_subquery()
            .label("suppressions"),
            sa.select(sa.func.count()).select_from(Template).scalar_subquery().label("templates"),
            sa.select(sa.func.count()).select_from(Campaign).scalar_subquery().label("campaigns"),
            sa.select(sa.func.count())
            .select_from(Campaign)
            .where(Campaign.status == "running")
            .scalar_subquery()
            .label("running"),
            sa.select(sa.func.count())
            .select_from(SendingDomain)
            .where(SendingDomain.paused.is_(False))
            .scalar_subquery()
            .label("domains"),
        )
    ).one()
    return dict(row._mapping)
