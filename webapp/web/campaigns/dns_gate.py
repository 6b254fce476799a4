"""Starting a campaign through the DNS gate, from its page: a refused start shows an admin
what fails and a way to start anyway; anyone else hears why and who can."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_login import current_user

from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Campaign, CampaignAction
from webapp.security import not_allowed
from webapp.services.deliverability import (
    DnsChecksFailed,
    refresh_campaign_checks,
    start_campaign,
)


def start_from_page(campaign: Campaign) -> CampaignAction | None:
    """Start with the gate; `override_dns=1` in the form is an admin's override (403 for
    anyone else). Fresh checks are committed before the gate looks at them."""
    override = request.form.get("override_dns") == "1"
    if override and not current_user.is_admin:
        raise not_allowed()
    now = utcnow()
    if refresh_campaign_checks(campaign, now):
        db.session.commit()
    return start_campaign(campaign, current_user.id, now, admin_override=override)


def refused_start(campaign: Campaign, error: DnsChecksFailed) -> Any:
    """The page an admin sees when the gate refuses: the failing checks, and the override."""
    return (
        render_template("campaigns/dns_override.html", campaign=campaign, blockers=error.blockers),
        409,
    )
