"""Invitations: an address asked to join with a role, until accepted, canceled or expired."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.database import created_at_column, id_column, one_of
from webapp.extensions import Model
from webapp.models.users import ROLES, User

# An invitation still in force: neither accepted nor canceled (it may have expired).
_OPEN = sa.text("accepted_at IS NULL AND canceled_at IS NULL")


class Invitation(Model):
    """One invitation. The link in its mail is signed over `id` and `nonce`: a resend
    draws a new nonce, so every earlier link of it stops working."""

    __tablename__ = "invitations"
    __table_args__ = (
        sa.CheckConstraint(one_of("role", ROLES), name="chk_invitations_role"),
        # One open invitation per address, whichever admin sends it.
        sa.Index(
            "uk_invitations_open_email",
            "email",
            unique=True,
            postgresql_where=_OPEN,
            sqlite_where=_OPEN,
        ),
    )

    id: Mapped[str] = id_column()
    email: Mapped[str] = mapped_column(sa.String(320))
    role: Mapped[str] = mapped_column(sa.String(16))
    invited_by_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    nonce: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = created_at_column()
    sent_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    canceled_at: Mapped[datetime | None]
    # The user the invitation became.
    user_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id])

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.canceled_at is None

    def expired(self, now: datetime) -> bool:
        return now >= self.expires_at
