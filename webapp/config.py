"""Configuration from the environment (docs/interfaces.md, the README)."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


class Config:
    """Settings read once from the environment when the app is created."""

    def __init__(self) -> None:
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or _dev_secret_key()
        # Older keys still accepted while a new SECRET_KEY rolls out (comma-separated).
        self.SECRET_KEY_FALLBACKS = [
            key for key in os.environ.get("SECRET_KEY_FALLBACKS", "").split(",") if key
        ]
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            os.environ.get("DATABASE_URL", f"sqlite:///{ROOT / 'instance' / 'campaigns.db'}")
        )
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        self.PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:5000").rstrip(
            "/"
        )
        self.APP_TIMEZONE = os.environ.get("APP_TIMEZONE", "Europe/Amsterdam")
        self.TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
        self.MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "outbox")
        self.OUTBOX_DIR = os.environ.get("OUTBOX_DIR", str(ROOT / "instance" / "outbox"))
        # System mail (invitations, password resets) through Flask-Mail on one server of
        # the app's own, apart from the sending domains; without MAIL_SERVER it is written
        # to the outbox (webapp/services/system_mail.py).
        self.MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
        self.MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
        self.MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
        self.MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
        self.MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER") or None
        # Sending: how often the dispatcher looks for due mail, how long a claim may stay
        # in flight before it counts as lost (never started) or uncertain (started).
        self.DISPATCH_INTERVAL_SECONDS = float(os.environ.get("DISPATCH_INTERVAL_SECONDS", "60"))
        self.SEND_LEASE_SECONDS = float(os.environ.get("SEND_LEASE_SECONDS", "300"))
        # Human timing: each mail goes at a moment inside its slot drawn from its id, and a
        # domain's sends are a full interval apart (off: on the slot, as planned).
        self.SEND_JITTER = _bool("SEND_JITTER", True)
        self.REPORTS_DIR = os.environ.get("REPORTS_DIR", str(ROOT / "instance" / "reports"))
        # A domain whose last DOMAIN_HEALTH_WINDOW sends hold more than this share of hard
        # bounces (and at least DOMAIN_HEALTH_MIN_SENDS sends) is paused automatically.
        self.DOMAIN_BOUNCE_THRESHOLD = float(os.environ.get("DOMAIN_BOUNCE_THRESHOLD", "0.05"))
        self.DOMAIN_FAILURE_THRESHOLD = float(os.environ.get("DOMAIN_FAILURE_THRESHOLD", "0.2"))
        self.DOMAIN_HEALTH_WINDOW = int(os.environ.get("DOMAIN_HEALTH_WINDOW", "50"))
        self.DOMAIN_HEALTH_MIN_SENDS = int(os.environ.get("DOMAIN_HEALTH_MIN_SENDS", "20"))
        # Tracking: how client IPs are kept (truncate | none | full), how soon after sending
        # an open counts as a machine's, and how long user agents and IPs are kept at all.
        self.TRACKING_IP_MODE = os.environ.get("TRACKING_IP_MODE", "truncate")
        self.MACHINE_OPEN_SECONDS = int(os.environ.get("MACHINE_OPEN_SECONDS", "60"))
        self.OPEN_REPEAT_SECONDS = int(os.environ.get("OPEN_REPEAT_SECONDS", "60"))
        self.EVENT_RETENTION_DAYS = int(os.environ.get("EVENT_RETENTION_DAYS", "90"))
        # Opens and clicks are queued in each web process and written in batches (about
        # every 50 ms); off writes each hit within its request.
        self.TRACKING_BUFFER = _bool("TRACKING_BUFFER", True)
        # Each process reads the sending domains' tracking hosts again this often (seconds).
        self.TRACKING_HOSTS_REFRESH_SECONDS = float(
            os.environ.get("TRACKING_HOSTS_REFRESH_SECONDS", "60")
        )
        # DNS checks of the sending domains: the resolver to ask (`host:port`; unset: the
        # system's), DNS blocklist zones to look the domain and the SMTP host's address up
        # in (comma-separated; empty: none), and whether a campaign may start on a domain
        # failing SPF, DKIM, DMARC or the tracking host (unset: refused only when mail
        # really leaves, by SMTP).
        self.DNS_RESOLVER = os.environ.get("DNS_RESOLVER") or None
        self.DNS_BLOCKLISTS = os.environ.get("DNS_BLOCKLISTS", "")
        self.REQUIRE_DNS_CHECKS: bool | None = (
            _bool("REQUIRE_DNS_CHECKS", False) if os.environ.get("REQUIRE_DNS_CHECKS") else None
        )
        # How often the worker reads the sending domains' mailboxes for replies and bounces.
        self.INBOX_POLL_SECONDS = float(os.environ.get("INBOX_POLL_SECONDS", "300"))
        # Failed logins: at most this many per account and per client address within the
        # window (seconds); past that every attempt is refused until the window moves on.
        self.LOGIN_FAILURES_PER_ACCOUNT = int(os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "10"))
        self.LOGIN_FAILURES_PER_CLIENT = int(os.environ.get("LOGIN_FAILURES_PER_CLIENT", "50"))
        self.LOGIN_FAILURE_WINDOW_SECONDS = int(
            os.environ.get("LOGIN_FAILURE_WINDOW_SECONDS", "900")
        )
        # Password reset mails asked for: at most this many per address and per client
        # address within the same window; past that the form answers 429.
        self.PASSWORD_RESETS_PER_ACCOUNT = int(os.environ.get("PASSWORD_RESETS_PER_ACCOUNT", "5"))
        self.PASSWORD_RESETS_PER_CLIENT = int(os.environ.get("PASSWORD_RESETS_PER_CLIENT", "20"))
        # Two-factor sign-in: when on, an admin without it is sent to set it up at login
        # and can do nothing else until it is on.
        self.REQUIRE_TWO_FACTOR_FOR_ADMINS = _bool("REQUIRE_TWO_FACTOR_FOR_ADMINS", False)
        # Uploads larger than this import as a job on a worker, never inside the request.
        self.IMPORT_BACKGROUND_BYTES = int(os.environ.get("IMPORT_BACKGROUND_BYTES", "1048576"))
        # Starts, resumes, stops and re-plans of more messages than this run as a job.
        self.CAMPAIGN_BACKGROUND_MESSAGES = int(
            os.environ.get("CAMPAIGN_BACKGROUND_MESSAGES", "5000")
        )
        self.SESSION_COOKIE_SECURE = _bool(
            "SESSION_COOKIE_SECURE", self.PUBLIC_BASE_URL.startswith("https://")
        )

    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = 12 * 3600
    # How long a sign-in whose password was right waits for its two-factor code.
    TWO_FACTOR_PENDING_SECONDS = 300
    WTF_CSRF_TIME_LIMIT = None  # bound to the session instead, which expires on its own
    MAX_CONTENT_LENGTH = 64 * 1024 * 1024
    # Flask-Mail would drop every mail while TESTING; the tests catch it on a real server.
    MAIL_SUPPRESS_SEND = False
    TESTING = False


def normalise_database_url(url: str) -> str:
    """Point plain postgres URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _dev_secret_key() -> str:
    """A per-installation key kept in instance/, so `make run` needs no set-up.

    Production sets SECRET_KEY; this keeps sessions and signed links stable
    across restarts of the embedded default.
    """
    path = ROOT / "instance" / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(os.urandom(32).hex())
        path.chmod(0o600)
    return path.read_text().strip()
