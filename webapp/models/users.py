"""Users, their roles and their API tokens."""

from __future__ import annotations

import secrets
from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.database import SealedText, created_at_column, id_column, one_of
from webapp.extensions import Model


class Role(StrEnum):
    """What a user may do (docs/rules.md, "Roles")."""

    ADMIN = "admin"
    MARKETER = "marketer"
    MANAGER = "manager"


# Plain strings: click's Choice shows an enum's names, not its values.
ROLES: tuple[str, ...] = tuple(role.value for role in Role)
WRITE_ROLES = frozenset({Role.ADMIN, Role.MARKETER})


def new_session_token() -> str:
    """A fresh value for `User.session_token`."""
    return secrets.token_urlsafe(32)


class User(UserMixin, Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.UniqueConstraint("email", name="uk_users_email"),
        sa.CheckConstraint(one_of("role", ROLES), name="chk_users_role"),
    )

    id: Mapped[str] = id_column()
    email: Mapped[str] = mapped_column(sa.String(320))
    name: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    password_hash: Mapped[str] = mapped_column(sa.Text)
    role: Mapped[str] = mapped_column(sa.String(16))
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    last_login_at: Mapped[datetime | None]
    # The interface's language (webapp/i18n.py); None: the browser's choice.
    locale: Mapped[str | None] = mapped_column(sa.String(8))
    created_at: Mapped[datetime] = created_at_column()
    # Carried in every login session (get_id); a new value ends them all: logout,
    # a password change, deactivation.
    session_token: Mapped[str] = mapped_column(sa.String(64), default=new_session_token)
    # Two-factor sign-in (webapp/services/two_factor.py). The authenticator app's secret,
    # sealed like the domains' passwords: set while enrolling, in force from
    # `two_factor_enabled_at` on.
    totp_secret: Mapped[str | None] = mapped_column(SealedText())
    two_factor_enabled_at: Mapped[datetime | None]
    # The time step of the last code accepted: a code is never taken twice, nor an older one.
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )
    recovery_codes: Mapped[list[RecoveryCode]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    def get_id(self) -> str:  # Flask-Login: what the session carries
        return f"{self.id}:{self.session_token}"

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def can_write(self) -> bool:
        return self.role in WRITE_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def two_factor_enabled(self) -> bool:
        return self.two_factor_enabled_at is not None


class ApiToken(Model):
    """A bearer token; only its SHA-256 is stored, the token itself is shown once."""

    __tablename__ = "api_tokens"
    __table_args__ = (sa.UniqueConstraint("token_hash", name="uk_api_tokens_token_hash"),)

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()

    user: Mapped[User] = relationship(back_populates="tokens")


class RecoveryCode(Model):
    """A single-use code that stands in for the authenticator app (a lost phone).

    Only its SHA-256 is stored: the codes are shown once, when they are made, and carry
    80 random bits each, so a fast hash is as safe here as for API tokens.
    """

    __tablename__ = "recovery_codes"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "code_hash", name="uk_recovery_codes_user_code"),
    )

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()

    user: Mapped[User] = relationship(back_populates="recovery_codes")
