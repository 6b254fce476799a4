"""Tracking hosts: the sending domains' own names for the tracking URLs of their mail.

A domain with a tracking host (`t.punthelder-seo.nl`, a CNAME to this app) has the pixel,
tracked links and unsubscribe URLs of its mails on that host, signed for it
(`tokens`). Every request asks whether it arrived on such a host, so the set of hosts
is kept per process and app and read again every `TRACKING_HOSTS_REFRESH_SECONDS`
(60): a lookup is a set membership test, never a query. A host added or removed is
seen by this process at once (`forget_tracking_hosts`), by the others within that time.
"""

from __future__ import annotations

import ipaddress
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app, has_app_context
from sqlalchemy.orm import Session

from webapp.appcontext import current_app_object
from webapp.extensions import db
from webapp.models import SendingDomain

EXTENSION_KEY = "tracking_hosts"
SESSION_FLAG = "forget_tracking_hosts"
DEFAULT_REFRESH_SECONDS = 60.0
# After a failed read (the database away) the last known set serves this long.
RETRY_SECONDS = 5.0

_refresh_lock = threading.Lock()


@dataclass(frozen=True)
class _Known:
    hosts: frozenset[str]
    until: float


def normalize_host(raw: str | None) -> str | None:
    """A Host header (or URL authority) as a bare lower-case name.

    Whatever surrounds the name goes: spaces, user info, the port, brackets, final dots.
    The Host `user@T.Punthelder-SEO.nl..:99` is `t.punthelder-seo.nl` here, so a request
    whose Host only resembles a tracking host is still that host's (never the dashboard's);
    whether such a Host is acceptable at all is `is_plain_host`'s to say.
    """
    if not raw:
        return None
    host = raw.strip().rpartition("@")[2].lower()
    # An IPv6 literal (or a name in brackets) ends at its bracket; anything else at a colon.
    bracketed = host.startswith("[")
    host = host[1:].partition("]")[0] if bracketed else host.partition(":")[0]
    return host.rstrip(".") or None


# A DNS label: letters, digits and hyphens, 1 to 63 of them, no hyphen at either end.
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_PLAIN_HOST = re.compile(
    rf"""
    (?P<name>{_LABEL}(?:\.{_LABEL})*\.?  # a name or an IPv4 address, one final dot at most
    |\[(?P<ipv6>[0-9a-f:.]+)\])  # an IPv6 address in brackets
    (?::(?P<port>[1-9][0-9]{{0,4}}))?  # a port, 1 to 65535
    """,
    re.ASCII | re.IGNORECASE | re.VERBOSE,
)
MAX_NAME_LENGTH = 253


def is_plain_host(raw: str) -> bool:
    """Whether a Host header is a plain host name or address, with at most a port.

    No spaces, no user info, no empty, zero or out-of-range port, no empty or overlong
    label, no second header joined on with a comma. Werkzeug reads anything it refuses as
    no host at all (an empty `request.host`, sometimes no URLs at all); every Host
    accepted here it accepts too, and can build URLs for.
    """
    match = _PLAIN_HOST.fullmatch(raw)
    if match is None:
        return False
    if match["port"] and int(match["port"]) > 65535:
        return False
    if match["ipv6"] is not None:
        try:
            ipaddress.IPv6Address(match["ipv6"])
        except ValueError:
            return False
        return True
    return len(match["name"].rstrip(".")) <= MAX_NAME_LENGTH


def tracking_hosts() -> frozenset[str]:
    """Every sending domain's tracking host, as this process last read them."""
    app = current_app_object()
    known: _Known | None = app.extensions.get(EXTENSION_KEY)
    now = time.monotonic()
    if known is not None and now < known.until:
        return known.hosts
    # One read at a time. While it runs, others use the set they had; only a process
    # that has none yet waits for it.
    if not _refresh_lock.acquire(blocking=known is None):
        assert known is not None
        return known.hosts
    try:
        latest: _Known | None = app.extensions.get(EXTENSION_KEY)
        if latest is not None and now < latest.until:
            return latest.hosts
        fresh = _read(app, latest, now)
        app.extensions[EXTENSION_KEY] = fresh
        return fresh.hosts
    finally:
        _refresh_lock.release()


def _read(app: Flask, known: _Known | None, now: float) -> _Known:
    try:
        # A connection of its own: the request's session and transaction stay untouched.
        with db.engine.connect() as connection:
            hosts = frozenset(
                connection.execute(
                    sa.select(SendingDomain.tracking_host).where(
                        SendingDomain.tracking_host.is_not(None)
                    )
                ).scalars()
            )
    except Exception as error:  # the pixel must answer whatever the database does
        app.logger.warning("tracking hosts not read, keeping the last known: %s", error)
        return _Known(known.hosts if known else frozenset(), now + RETRY_SECONDS)
    seconds = float(app.config.get("TRACKING_HOSTS_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS))
    return _Known(frozenset(host for host in hosts if host), now + seconds)


def forget_tracking_hosts(app: Flask | None = None) -> None:
    """Read the tracking hosts again on the next request (after a domain's host changed)."""
    (app or current_app_object()).extensions.pop(EXTENSION_KEY, None)


def forget_tracking_hosts_after_commit() -> None:
    """Read the tracking hosts again once this transaction (which changes one) commits."""
    db.session.info[SESSION_FLAG] = True


@sa.event.listens_for(Session, "after_commit")
def _forget_after_commit(session: Session) -> None:
    if session.info.pop(SESSION_FLAG, False) and has_app_context():
        forget_tracking_hosts()


@sa.event.listens_for(Session, "after_rollback")
def _keep_after_rollback(session: Session) -> None:
    session.info.pop(SESSION_FLAG, None)


def public_host() -> str | None:
    """The host of PUBLIC_BASE_URL: the dashboard's own address, never a tracking host."""
    return normalize_host(urlsplit(str(current_app.config["PUBLIC_BASE_URL"])).netloc)


def is_tracking_host(raw: str | None) -> bool:
    """Whether a request's Host names a sending domain's tracking host."""
    host = normalize_host(raw)
    return host is not None and host in tracking_hosts() and host != public_host()


def token_hosts(raw: str | None) -> tuple[str | None, ...]:
    """Whose tokens a request on this Host may use (None: the main address's).

    A tracking host answers only for the mail it was named in: tokens signed for it.
    Any other host answers for mail of the main address, and for mail that named this
    very host (a tracking host a domain has since given up, still pointing here).
    """
    host = normalize_host(raw)
    if host is None:
        return (None,)
    if is_tracking_host(host):
        return (host,)
    return (None, host)
