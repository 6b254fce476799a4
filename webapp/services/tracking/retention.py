"""Keeping tracking details only as long as they are useful."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from webapp.database import affected_rows
from webapp.extensions import db
from webapp.models import MessageEvent

DEFAULT_EVENT_RETENTION_DAYS = 90


def retention_days() -> int:
    """EVENT_RETENTION_DAYS from the configuration (default 90)."""
    return int(current_app.config.get("EVENT_RETENTION_DAYS", DEFAULT_EVENT_RETENTION_DAYS))


def purge_tracking_details(now: datetime, days: int | None = None) -> int:
    """Remove user agents and IP addresses from events older than `days`; returns how many.

    The events themselves stay: counts and timelines do not change.
    """
    if days is None:
        days = retention_days()
    if days < 0:
        raise ValueError("days must be 0 or more")
    cutoff = now - timedelta(days=days)
    result = db.session.execute(
        sa.update(MessageEvent)
        .where(
            MessageEvent.created_at < cutoff,
            sa.or_(MessageEvent.user_agent.is_not(None), MessageEvent.ip_address.is_not(None)),
        )
        .values(user_agent=None, ip_address=None)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result)
