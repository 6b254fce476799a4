"""The start gate: no campaign starts on a domain failing SPF, DKIM, DMARC or its tracking
host (whose failure leaves every unsubscribe link dead), unless an admin overrides it
(audited with the domains and checks).

Enforced when mail really leaves (MAIL_BACKEND smtp) or when REQUIRE_DNS_CHECKS says so;
the outbox of the embedded default and the demo send nothing, so nothing is gated there.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from webapp.extensions import db
from webapp.models import Campaign, CampaignAction, SendingDomain
from webapp.services.audit import AuditAction, record_action
from webapp.services.campaigns import effective_domains, request_action
from webapp.services.deliverability.checks import check_domain, checks_are_fresh, failing_checks
from webapp.services.errors import Conflict


class DnsChecksFailed(Conflict):
    """A start refused: `blockers` maps each domain to the gated checks it fails."""

    default_code = "dns_checks_failed"

    def __init__(self, blockers: dict[str, list[str]]) -> None:
        listed = "; ".join(f"{name}: {', '.join(checks)}" for name, checks in blockers.items())
        super().__init__(
            _(
                "The DNS of these sending domains fails checks a start needs (%(listed)s). "
                "Fix the records, check again on the domain's page, or let an admin start anyway.",
                listed=listed,
            ),
            fields={name: ", ".join(checks) for name, checks in blockers.items()},
        )
        self.blockers = blockers


def dns_checks_enforced() -> bool:
    setting = current_app.config.get("REQUIRE_DNS_CHECKS")
    if setting is None:
        return bool(current_app.config.get("MAIL_BACKEND") == "smtp")
    return bool(setting)


def campaign_domains(campaign: Campaign) -> list[SendingDomain]:
    """The domains the campaign sends from; every active one while none is assigned."""
    names = effective_domains(campaign)
    query = sa.select(SendingDomain).order_by(SendingDomain.name)
    if names:
        query = query.where(SendingDomain.name.in_(names))
    else:
        query = query.where(SendingDomain.paused.is_(False))
    return list(db.session.scalars(query))


def refresh_campaign_checks(campaign: Campaign, now: datetime) -> int:
    """Check the campaign's domains whose results are missing or older than a day (only
    while the gate is enforced); the caller commits, so a refused start keeps them."""
    if not dns_checks_enforced():
        return 0
    stale = [d for d in campaign_domains(campaign) if not checks_are_fresh(d, now)]
    for domain in stale:
        check_domain(domain, now)
    return len(stale)


def start_blockers(campaign: Campaign) -> dict[str, list[str]]:
    """Each of the campaign's domains with the gated checks its last results fail ({} when
    the gate is not enforced)."""
    if not dns_checks_enforced():
        return {}
    blockers = {d.name: failing_checks(d) for d in campaign_domains(campaign)}
    return {name: checks for name, checks in blockers.items() if checks}


def start_campaign(
    campaign: Campaign, user_id: str | None, now: datetime, admin_override: bool = False
) -> CampaignAction | None:
    """Start the campaign if its domains pass the gate, or with an admin's override (the
    caller makes sure the user is an admin); DnsChecksFailed otherwise. The caller commits."""
    blockers = start_blockers(campaign)
    if blockers and not admin_override:
        raise DnsChecksFailed(blockers)
    recorded = request_action(campaign, "start", user_id, now)
    if blockers:
        record_action(
            AuditAction.CAMPAIGN_DNS_OVERRIDE,
            "campaign",
            campaign.id,
            user_id,
            {"name": campaign.name, "domains": blockers},
        )
    return recorded
