"""The dry run and domain availability over the API."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from webapp.database import utcnow
from webapp.errors import ApiError
from webapp.services.planning import campaign_dry_run, domain_availability
from webapp.web.api.blueprint import bp


@bp.get("/campaigns/<campaign_id>/dry-run")
def planning_dry_run(campaign_id: str) -> Any:
    report = campaign_dry_run(campaign_id, utcnow())
    if report is None:
        raise ApiError(404, _("no campaign %(id)s", id=repr(campaign_id)))
    return report


# A static rule: Flask prefers it to /domains/<name>, so no domain is called "availability".
@bp.get("/domains/availability")
def planning_domain_availability() -> Any:
    return domain_availability(utcnow())
