"""A campaign's experiments: the figures per step and variant, their CSV, a winner."""

from __future__ import annotations

from typing import Any

from flask import abort, render_template, request
from flask_login import current_user

from webapp.extensions import db
from webapp.models import Campaign, CampaignStatus
from webapp.security import can, requires
from webapp.services.campaigns import declare_winner, experiments_csv, get_campaign
from webapp.services.inputs import clamp_int
from webapp.services.kpis import campaign_experiments, experiment_chart
from webapp.web.campaigns.blueprint import bp
from webapp.web.downloads import csv_download, reader_csv_style


def _campaign(campaign_id: str) -> Campaign:
    return get_campaign(campaign_id) or abort(404)


def _section(campaign: Campaign, errors: dict[str, str] | None = None) -> str:
    experiments = campaign_experiments(campaign)
    charts = {step["mail_number"]: experiment_chart(step) for step in experiments["steps"]}
    return render_template(
        "campaigns/_experiments.html",
        campaign=campaign,
        experiments=experiments,
        charts=charts,
        can_declare=can("run_campaigns") and campaign.status != CampaignStatus.DRAFT,
        errors=errors or {},
    )


@bp.get("/<campaign_id>/experiments")
def experiments(campaign_id: str) -> Any:
    """The experiment section of the campaign page (loaded after the page)."""
    return _section(_campaign(campaign_id))


@bp.get("/<campaign_id>/experiments.csv")
def experiments_export(campaign_id: str) -> Any:
    campaign = _campaign(campaign_id)
    lines = experiments_csv(campaign_experiments(campaign), reader_csv_style())
    return csv_download(lines, f"campaign-{campaign.id}-experiments")


@bp.post("/<campaign_id>/experiments/<int:mail_number>/winner")
@requires("run_campaigns")
def winner(campaign_id: str, mail_number: int) -> Any:
    """Declare a step's winner: its queued mail moves to it; the section comes back."""
    campaign = _campaign(campaign_id)
    declare_winner(
        campaign, clamp_int(mail_number, 0, 0, 5), request.form.get("variant"), current_user.id
    )
    db.session.commit()
    return _section(campaign)
