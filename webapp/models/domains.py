"""Sending domains: where mail goes out from, and at what pace."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from webapp.database import SealedText, created_at_column, id_column, one_of, utcnow
from webapp.extensions import Model

DEFAULT_ALIASES: list[dict[str, str]] = [
    {"alias": "christian", "display_name": "Christian"},
    {"alias": "victor", "display_name": "Victor"},
]

# The four default domains, v1..v4 (docs/rules.md, "Sending domains").
DEFAULT_DOMAINS: list[tuple[str, str]] = [
    ("v1", "punthelder-vindbaarheid.nl"),
    ("v2", "punthelder-marketing.nl"),
    ("v3", "punthelder-seo.nl"),
    ("v4", "punthelder-zoekmachine.nl"),
]


class SmtpTls(StrEnum):
    """How the SMTP connection is secured: not at all, upgraded, or TLS from the first byte."""

    NONE = "none"
    STARTTLS = "starttls"
    SSL = "ssl"


SMTP_TLS_MODES: tuple[str, ...] = tuple(mode.value for mode in SmtpTls)


class SendingDomain(Model):
    __tablename__ = "sending_domains"
    __table_args__ = (
        sa.UniqueConstraint("name", name="uk_sending_domains_name"),
        sa.CheckConstraint(
            "interval_seconds BETWEEN 1 AND 86400", name="chk_sending_domains_interval"
        ),
        sa.CheckConstraint("window_start < window_end", name="chk_sending_domains_window"),
        sa.CheckConstraint(one_of("smtp_tls", SMTP_TLS_MODES), name="chk_sending_domains_smtp_tls"),
        sa.CheckConstraint("daily_cap >= 1", name="chk_sending_domains_daily_cap"),
        sa.CheckConstraint("ramp_start >= 1 AND ramp_step >= 0", name="chk_sending_domains_ramp"),
        sa.Index(
            "uk_sending_domains_tracking_host",
            "tracking_host",
            unique=True,
            postgresql_where=sa.text("tracking_host IS NOT NULL"),
            sqlite_where=sa.text("tracking_host IS NOT NULL"),
        ),
    )

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(sa.String(253))
    label: Mapped[str] = mapped_column(sa.String(50), default="", server_default="")

    # Outgoing mail. Secrets are write-only (never rendered, returned or logged) and stored
    # sealed under SECRET_KEY (SealedText).
    smtp_host: Mapped[str | None] = mapped_column(sa.String(253))
    smtp_port: Mapped[int] = mapped_column(default=587, server_default="587")
    smtp_user: Mapped[str | None] = mapped_column(sa.String(320))
    smtp_password: Mapped[str | None] = mapped_column(SealedText())
    smtp_tls: Mapped[str] = mapped_column(
        sa.String(8), default=SmtpTls.STARTTLS, server_default=SmtpTls.STARTTLS.value
    )
    dkim_selector: Mapped[str | None] = mapped_column(sa.String(63))
    dkim_private_key: Mapped[str | None] = mapped_column(SealedText())
    # A rotation publishes the next key under a new selector first; signing moves to it only
    # once its record is in the DNS, so no mail goes out under a selector nobody can read.
    dkim_pending_selector: Mapped[str | None] = mapped_column(sa.String(63))
    dkim_pending_private_key: Mapped[str | None] = mapped_column(SealedText())

    # The mailbox replies and bounces arrive in.
    imap_host: Mapped[str | None] = mapped_column(sa.String(253))
    imap_port: Mapped[int] = mapped_column(default=993, server_default="993")
    imap_user: Mapped[str | None] = mapped_column(sa.String(320))
    imap_password: Mapped[str | None] = mapped_column(SealedText())
    imap_tls: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    imap_folder: Mapped[str] = mapped_column(
        sa.String(200), default="INBOX", server_default="INBOX"
    )
    imap_uidvalidity: Mapped[int | None] = mapped_column(sa.BigInteger)
    imap_last_uid: Mapped[int | None] = mapped_column(sa.BigInteger)

    aliases: Mapped[list[Any]] = mapped_column(default=lambda: [dict(a) for a in DEFAULT_ALIASES])
    interval_seconds: Mapped[int] = mapped_column(default=1200, server_default="1200")
    window_start: Mapped[time] = mapped_column(default=time(9, 0), server_default="09:00:00")
    window_end: Mapped[time] = mapped_column(default=time(18, 0), server_default="18:00:00")
    # ISO weekdays, Monday 1 .. Sunday 7.
    working_days: Mapped[list[Any]] = mapped_column(default=lambda: [1, 2, 3, 4, 5])
    timezone: Mapped[str] = mapped_column(
        sa.String(64), default="Europe/Amsterdam", server_default="Europe/Amsterdam"
    )
    skip_holidays: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Warm-up: at most daily_cap mails a day (None: what the window holds); a ramp starts at
    # ramp_start a day on ramp_started_on and adds ramp_step each working day, up to the cap.
    # ramp_started_on stays empty until the domain's first mail under the ramp goes (the
    # send sets it), so a ramp set up weeks before the first campaign still warms it up.
    daily_cap: Mapped[int | None]
    ramp_start: Mapped[int | None]
    ramp_step: Mapped[int] = mapped_column(default=0, server_default="0")
    ramp_started_on: Mapped[date | None]
    # The sender's own host for pixel, links and unsubscribe URLs (a CNAME to this app).
    tracking_host: Mapped[str | None] = mapped_column(sa.String(253))
    # The last DNS preflight: [{name, status, detail, fix}], and when it ran.
    dns_checks: Mapped[list[Any] | None]
    dns_checked_at: Mapped[datetime | None]
    paused: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    paused_reason: Mapped[str | None] = mapped_column(sa.Text)
    # The pace gate: set atomically when a send starts, so two mails from this domain are
    # never closer together than interval_seconds, whatever the number of workers.
    last_sent_at: Mapped[datetime | None]

    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = mapped_column(
        default=utcnow, onupdate=utcnow, server_default=sa.func.now()
    )

    @property
    def has_smtp_password(self) -> bool:
        return bool(self.smtp_password)

    @property
    def has_imap_password(self) -> bool:
        return bool(self.imap_password)

    @property
    def ramp_waits(self) -> bool:
        """A ramp is set and no mail has gone under it yet: it starts with the first one."""
        return self.ramp_start is not None and self.ramp_started_on is None

    def __repr__(self) -> str:
        return f"<SendingDomain {self.name}>"
