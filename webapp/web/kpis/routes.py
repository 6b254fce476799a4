"""A campaign's KPI cards, timeline chart and CSV downloads: partials the campaign page loads."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, render_template, stream_with_context

from webapp.services.campaigns import get_campaign, kpi_csv, messages_csv
from webapp.services.kpis import campaign_kpis, campaign_timeline, timeline_chart
from webapp.web.downloads import csv_download, reader_csv_style
from webapp.web.kpis.blueprint import bp

TIMELINE_LINES = ("opened", "replied", "bounced")


def _campaign_or_404(campaign_id: str) -> Any:
    campaign = get_campaign(campaign_id)
    if campaign is None:
        abort(404)
    return campaign


@bp.get("/campaigns/<campaign_id>/kpis")
def cards(campaign_id: str) -> Any:
    campaign = _campaign_or_404(campaign_id)
    return render_template("kpis/_cards.html", campaign=campaign, kpis=campaign_kpis(campaign_id))


@bp.get("/campaigns/<campaign_id>/timeline")
def timeline(campaign_id: str) -> Any:
    campaign = _campaign_or_404(campaign_id)
    rows = campaign_timeline(campaign_id)
    return render_template(
        "kpis/_timeline.html",
        campaign=campaign,
        rows=rows,
        chart=timeline_chart(rows, "sent", TIMELINE_LINES),
    )


def csv_response(lines: Any, filename: str) -> Response:
    """A streamed CSV download."""
    return Response(
        stream_with_context(lines),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/campaigns/<campaign_id>/messages.csv")
def messages_export(campaign_id: str) -> Any:
    _campaign_or_404(campaign_id)
    lines = messages_csv(campaign_id, reader_csv_style())
    return csv_download(lines, f"campaign-{campaign_id}-messages")


@bp.get("/campaigns/<campaign_id>/kpis.csv")
def kpis_export(campaign_id: str) -> Any:
    _campaign_or_404(campaign_id)
    lines = kpi_csv(campaign_kpis(campaign_id), reader_csv_style())
    return csv_download(lines, f"campaign-{campaign_id}-kpis")
