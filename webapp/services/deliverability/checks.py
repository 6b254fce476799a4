"""Running a domain's DNS checks, keeping the result, and reading it back in words."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from webapp.extensions import db
from webapp.models import SendingDomain
from webapp.services.deliverability.dkim import promote_pending_key
from webapp.services.deliverability.lookup import DnsUnavailable, Lookup
from webapp.services.deliverability.records import (
    Check,
    check_blocklists,
    check_dkim,
    check_dmarc,
    check_mx,
    check_ptr,
    check_spf,
    check_tracking_host,
    guarded,
    pending_key_published,
    result,
)
from webapp.services.deliverability.words import N_, said, word

log = logging.getLogger("webapp.deliverability")

CHECK_NAMES = ("spf", "dkim", "dmarc", "mx", "ptr", "tracking_host", "blocklist")
# The checks a campaign may not start without (unless an admin overrides): a failing
# tracking host means every unsubscribe link in the domain's mail is dead.
GATED_CHECKS = ("spf", "dkim", "dmarc", "tracking_host")
# Results older than this are checked again before a start, and by the daily pass.
FRESH_FOR = timedelta(days=1)
STATUS_ORDER = {"pass": 0, "warn": 1, "fail": 2}
# A stored check's `cause` when it failed because the domain is not in the DNS at all.
MISSING_DOMAIN = "nxdomain"


def blocklist_zones() -> list[str]:
    raw = current_app.config.get("DNS_BLOCKLISTS") or ""
    return [zone.strip().strip(".").lower() for zone in raw.split(",") if zone.strip()]


def run_checks(domain: SendingDomain, lookup: Lookup | None = None) -> list[Check]:
    """Every check that applies to the domain (the tracking host's and the blocklists' only
    when set), against the configured resolver within the domain's time budget. When the
    domain itself does not exist, the checks of records on it fail pointing at that."""
    lookup = lookup or Lookup.for_app()
    missing = _domain_missing(lookup, domain.name)

    def on_domain(name: str, run: Callable[[], Check]) -> Check:
        return missing_domain_check(name, domain.name) if missing else guarded(name, run)

    checks = [
        on_domain("spf", lambda: check_spf(lookup, domain)),
        (
            on_domain("dkim", lambda: check_dkim(lookup, domain))
            if domain.dkim_private_key
            else guarded("dkim", lambda: check_dkim(lookup, domain))
        ),
        on_domain("dmarc", lambda: check_dmarc(lookup, domain)),
        on_domain("mx", lambda: check_mx(lookup, domain)),
        guarded("ptr", lambda: check_ptr(lookup, domain)),
    ]
    if domain.tracking_host:
        base_url = current_app.config["PUBLIC_BASE_URL"]
        tracking = domain.tracking_host.lower().rstrip(".")
        if tracking.endswith("." + domain.name.lower()):
            checks.append(
                on_domain("tracking_host", lambda: check_tracking_host(lookup, domain, base_url))
            )
        else:
            checks.append(
                guarded("tracking_host", lambda: check_tracking_host(lookup, domain, base_url))
            )
    zones = blocklist_zones()
    if zones:
        checks.append(guarded("blocklist", lambda: check_blocklists(lookup, domain, zones)))
    return checks


def _domain_missing(lookup: Lookup, name: str) -> bool:
    try:
        return not lookup.exists(name)
    except DnsUnavailable:
        return False  # each check says the DNS did not answer


def missing_domain_check(name: str, domain_name: str) -> Check:
    """A check of a record on a domain the DNS does not know: it fails because of that."""
    return {
        **result(
            name,
            "fail",
            said(
                N_("Not found, because %(domain)s itself does not exist in the DNS (NXDOMAIN)."),
                domain=domain_name,
            ),
        ),
        "cause": MISSING_DOMAIN,
    }


def checks_notice(domain_name: str, checks: list[Any] | None) -> dict[str, str] | None:
    """The one thing to fix first, said once above the checks: the domain is not in the
    DNS at all (None when the checks found no such cause)."""
    if not any(c.get("cause") == MISSING_DOMAIN for c in checks or []):
        return None
    return {
        "detail": word(
            said(
                N_(
                    "%(domain)s does not exist in the DNS (NXDOMAIN), so no record on it can be "
                    "found: SPF, DKIM, DMARC and MX all fail until it does."
                ),
                domain=domain_name,
            )
        ),
        "fix": word(
            said(
                N_(
                    "Check that %(domain)s is registered and that the registrar delegates it to "
                    "the right nameservers (a whois lookup shows both), then check again."
                ),
                domain=domain_name,
            )
        ),
    }


def check_domain(domain: SendingDomain, now: datetime, promote: bool = False) -> list[Check]:
    """Run the checks and keep them on the domain; with `promote`, a pending DKIM key whose
    record is published takes over signing first. The caller commits."""
    lookup = Lookup.for_app()
    if promote and domain.dkim_pending_selector:
        try:
            if pending_key_published(lookup, domain):
                promote_pending_key(domain, None)
        except DnsUnavailable:
            pass  # the checks below say the DNS did not answer
    checks = run_checks(domain, lookup)
    domain.dns_checks = checks
    domain.dns_checked_at = now
    db.session.flush()
    return checks


def checks_are_fresh(domain: SendingDomain, now: datetime) -> bool:
    return domain.dns_checked_at is not None and now - domain.dns_checked_at < FRESH_FOR


def worst_status(checks: list[Any] | None) -> str | None:
    """fail, warn or pass over the stored checks (None when never checked)."""
    if not checks:
        return None
    statuses = [str(c["status"]) for c in checks]
    return max(statuses, key=lambda s: STATUS_ORDER.get(s, 2))


def failing_checks(domain: SendingDomain, names: tuple[str, ...] = GATED_CHECKS) -> list[str]:
    """The named checks whose last result failed; all that apply when never checked (the
    tracking host's only when one is set)."""
    if domain.dns_checks is None:
        return [n for n in names if n != "tracking_host" or domain.tracking_host]
    return [c["name"] for c in domain.dns_checks if c["name"] in names and c["status"] == "fail"]


def present_checks(checks: list[Any] | None) -> list[dict[str, str]]:
    """The stored checks as the API and the page show them, in the reader's language."""
    return [
        {
            "name": check["name"],
            "status": check["status"],
            "detail": word(check.get("detail")),
            "fix": word(check.get("fix")),
        }
        for check in checks or []
    ]


def daily_checks(now: datetime, limit: int = 50) -> int:
    """Check the domains whose results are older than a day, oldest first; committed per
    domain, so one slow domain never holds the others' results. Returns how many ran."""
    stale = db.session.scalars(
        sa.select(SendingDomain)
        .where(
            sa.or_(
                SendingDomain.dns_checked_at.is_(None),
                SendingDomain.dns_checked_at < now - FRESH_FOR,
            )
        )
        .order_by(SendingDomain.dns_checked_at.asc().nulls_first(), SendingDomain.name)
        .limit(limit)
    ).all()
    for domain in stale:
        checks = check_domain(domain, now, promote=True)
        db.session.commit()
        log.info("dns checks of %s: %s", domain.name, worst_status(checks))
    return len(stale)
