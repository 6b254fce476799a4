"""Who did what: admin and operator actions worth keeping a record of."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.database import created_at_column, id_column
from webapp.extensions import Model


class AuditEvent(Model):
    """One recorded action, e.g. `suppression.removed`, `domain.updated`, `message.resent`."""

    __tablename__ = "audit_events"
    __table_args__ = (
        sa.Index("idx_audit_events_created_at", "created_at"),
        sa.Index("idx_audit_events_subject", "subject_type", "subject_id"),
        # The trail's filters, newest first (migration 0017, bench/audit_trail.py).
        sa.Index("idx_audit_events_user_created", "user_id", "created_at", "id"),
        sa.Index("idx_audit_events_action_created", "action", "created_at", "id"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(64))
    subject_type: Mapped[str] = mapped_column(sa.String(32))
    subject_id: Mapped[str | None] = mapped_column(sa.String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[datetime] = created_at_column()
