"""The dry run (an htmx partial on the campaign page) and the domain availability page."""

from __future__ import annotations

from typing import Any

from flask import abort

from webapp.database import utcnow
from webapp.htmx import render_page_or_fragment
from webapp.services.planning import campaign_dry_run, domain_availability
from webapp.web.planning.blueprint import bp


@bp.get("/campaigns/<campaign_id>/dry-run")
def dry_run(campaign_id: str) -> Any:
    report = campaign_dry_run(campaign_id, utcnow())
    if report is None:
        abort(404)
    return render_page_or_fragment(
        "planning/dry_run.html", "planning/_dry_run.html", report=report, campaign_id=campaign_id
    )


@bp.get("/availability")
def availability() -> Any:
    return render_page_or_fragment(
        "planning/availability.html",
        "planning/_availability.html",
        domains=domain_availability(utcnow()),
    )
