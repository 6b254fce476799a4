"""The per-domain booking summary kept current by database triggers (migration 0011).

Every INSERT, UPDATE or DELETE on `messages`, bulk statements included, adjusts these rows
in the same transaction (one set-based adjustment per statement on PostgreSQL, row triggers
on SQLite), so availability, the dry run and the calendar read a few hundred summary rows
instead of every booking. Nothing in Python writes them, except
`webapp.services.planning.bookings.rebuild_booking_days` after a load with triggers off.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import Model


def _counter() -> Mapped[int]:
    return mapped_column(sa.Integer, nullable=False, default=0, server_default="0")


class DomainBookingDay(Model):
    """Per (sending domain, Europe/Amsterdam day, campaign): `live` messages (queued or in
    flight) on the day of their slot, and `planned` messages (not canceled) on the day they
    went or are to go (`sent_at`, else `scheduled_at`). A row exists only while one of the
    two is not zero."""

    __tablename__ = "domain_booking_days"

    domain_used: Mapped[str] = mapped_column(sa.String(253), primary_key=True)
    day: Mapped[date] = mapped_column(sa.Date, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    live: Mapped[int] = _counter()
    planned: Mapped[int] = _counter()
