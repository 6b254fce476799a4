"""Duplicate a campaign as a new draft, delete a draft, archive a finished campaign."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Campaign
from webapp.security import requires
from webapp.services.campaigns import (
    delete_draft,
    duplicate_campaign,
    get_campaign,
    set_archived,
)
from webapp.services.errors import Conflict, InvalidInput
from webapp.web.campaigns.blueprint import bp


def _campaign(campaign_id: str) -> Campaign:
    return get_campaign(campaign_id) or abort(404)


def _to(endpoint: str, **values: Any) -> Any:
    return redirect(url_for(endpoint, **values), code=303)


@bp.post("/<campaign_id>/duplicate")
@requires("run_campaigns")
def duplicate(campaign_id: str) -> Any:
    campaign = _campaign(campaign_id)
    try:
        copy = duplicate_campaign(campaign, current_user.id, utcnow())
    except InvalidInput as error:
        db.session.rollback()
        flash(
            _("Could not copy “%(name)s”: %(reason)s", name=campaign.name, reason=error.message),
            "error",
        )
        return _to("campaigns.show", campaign_id=campaign_id)
    db.session.commit()
    flash(
        _("Copied “%(name)s” as a new draft: check it and start it.", name=campaign.name), "success"
    )
    return _to("campaigns.show", campaign_id=copy.id)


@bp.post("/<campaign_id>/delete")
@requires("run_campaigns")
def delete(campaign_id: str) -> Any:
    campaign = _campaign(campaign_id)
    name = campaign.name
    try:
        delete_draft(campaign, current_user.id)
    except Conflict as error:
        db.session.rollback()
        flash(error.message, "error")
        return _to("campaigns.show", campaign_id=campaign_id)
    db.session.commit()
    flash(_("Deleted the draft “%(name)s”.", name=name), "success")
    return _to("campaigns.index")


@bp.post("/<campaign_id>/archive", defaults={"archived": True})
@bp.post("/<campaign_id>/unarchive", defaults={"archived": False})
@requires("run_campaigns")
def archive(campaign_id: str, archived: bool) -> Any:
    campaign = _campaign(campaign_id)
    try:
        set_archived(campaign, archived, current_user.id, utcnow())
    except Conflict as error:
        db.session.rollback()
        flash(error.message, "error")
        return _to("campaigns.show", campaign_id=campaign_id)
    db.session.commit()
    if archived:
        flash(
            _("Archived “%(name)s”: it is out of the campaign list.", name=campaign.name), "success"
        )
    else:
        flash(_("“%(name)s” is back in the campaign list.", name=campaign.name), "success")
    return _to("campaigns.show", campaign_id=campaign_id)
