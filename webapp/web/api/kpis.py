"""Campaign KPIs, the timeline and the exports over the API (read-only, any role)."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from webapp.errors import ApiError
from webapp.services.campaigns import get_campaign, kpi_csv, messages_csv
from webapp.services.kpis import campaign_kpis, campaign_timeline
from webapp.web.api.blueprint import bp
from webapp.web.kpis.routes import csv_response


def _exists(campaign_id: str) -> None:
    if get_campaign(campaign_id) is None:
        raise ApiError(404, _("no campaign %(id)s", id=repr(campaign_id)))


@bp.get("/campaigns/<campaign_id>/kpis")
def campaign_kpis_show(campaign_id: str) -> Any:
    _exists(campaign_id)
    return campaign_kpis(campaign_id)


@bp.get("/campaigns/<campaign_id>/timeline")
def campaign_timeline_show(campaign_id: str) -> Any:
    _exists(campaign_id)
    return campaign_timeline(campaign_id)


@bp.get("/campaigns/<campaign_id>/export.csv")
def campaign_export(campaign_id: str) -> Any:
    _exists(campaign_id)
    return csv_response(messages_csv(campaign_id), f"campaign-{campaign_id}-messages.csv")


@bp.get("/campaigns/<campaign_id>/kpis.csv")
def campaign_kpis_export(campaign_id: str) -> Any:
    _exists(campaign_id)
    return csv_response(kpi_csv(campaign_kpis(campaign_id)), f"campaign-{campaign_id}-kpis.csv")
