"""The dry run (an htmx partial on the campaign page) and the domain availability page."""

from __future__ import annotations

from typing import Any

from flask import abort, request

from webapp.database import utcnow
from webapp.extensions import db
from webapp.htmx import render_page_or_fragment, wants_fragment
from webapp.services.inputs import MAX_PAGE, clamp_int
from webapp.services.planning import (
    domain_availability,
    enqueue_dry_run,
    kept_dry_run,
    list_domains,
)
from webapp.web.planning.blueprint import bp


@bp.get("/campaigns/<campaign_id>/dry-run")
def dry_run(campaign_id: str) -> Any:
    """The kept report, or "calculating" while a job makes it: the fragment polls until
    the report is there (and answers it with 286, which ends the polling)."""
    now = utcnow()
    kept = kept_dry_run(campaign_id, now)
    if kept is None:
        abort(404)
    if kept.report is None:
        enqueue_dry_run(campaign_id, kept.key, now)
        db.session.commit()
        return render_page_or_fragment(
            "planning/dry_run.html", "planning/_dry_run_pending.html", campaign_id=campaign_id
        )
    html = render_page_or_fragment(
        "planning/dry_run.html",
        "planning/_dry_run.html",
        report=kept.report,
        campaign_id=campaign_id,
    )
    return (html, 286) if wants_fragment() and request.args.get("poll") else html


# Domains per page of the heat map: 200 domains x 14 days were 2,800 cells to draw per view.
AVAILABILITY_PER_PAGE = 50


@bp.get("/availability")
def availability() -> Any:
    """The heat map of a page of domains: only that page's bookings are counted."""
    every = list_domains()
    pages = max(1, -(-len(every) // AVAILABILITY_PER_PAGE))
    page = min(clamp_int(request.args.get("page"), 1, 1, MAX_PAGE), pages)
    first = (page - 1) * AVAILABILITY_PER_PAGE
    return render_page_or_fragment(
        "planning/availability.html",
        "planning/_availability.html",
        domains=domain_availability(utcnow(), every[first : first + AVAILABILITY_PER_PAGE]),
        domains_page=page,
        domains_pages=pages,
    )
