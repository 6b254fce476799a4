"""A campaign's experiments over the API: the figures, and declaring a step's winner."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_login import current_user

from webapp.errors import ApiError
from webapp.extensions import db
from webapp.models import Campaign
from webapp.services.campaigns import declare_winner, get_campaign
from webapp.services.kpis import campaign_experiments
from webapp.web.api.blueprint import bp
from webapp.web.api.helpers import json_body


def _campaign_or_404(campaign_id: str) -> Campaign:
    campaign = get_campaign(campaign_id)
    if campaign is None:
        raise ApiError(404, _("no campaign %(id)s", id=repr(campaign_id)))
    return campaign


@bp.get("/campaigns/<campaign_id>/experiments")
def campaign_experiments_show(campaign_id: str) -> Any:
    return campaign_experiments(_campaign_or_404(campaign_id))


@bp.post("/campaigns/<campaign_id>/experiments/<int:mail_number>/winner")
def campaign_experiments_winner(campaign_id: str, mail_number: int) -> Any:
    """`{variant}`: the step's queued mail moves to it; answers the figures and `moved`."""
    campaign = _campaign_or_404(campaign_id)
    moved = declare_winner(campaign, mail_number, json_body().get("variant"), current_user.id)
    db.session.commit()
    return campaign_experiments(campaign) | {"moved": moved}
