"""Campaigns over the API: create, read, edit, and the lifecycle actions."""

from __future__ import annotations

from typing import Any

from flask import request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.database import utcnow
from webapp.errors import ApiError
from webapp.extensions import db
from webapp.formats import thousands
from webapp.models import ActionStatus, Campaign
from webapp.models.campaigns import CAMPAIGN_STATUSES
from webapp.models.messages import MESSAGE_STATUSES
from webapp.services.campaigns import (
    MessageCursor,
    campaign_to_dict,
    create_campaign,
    delete_draft,
    duplicate_campaign,
    get_campaign,
    list_campaigns,
    list_messages,
    progress_by_campaign,
    request_action,
    set_archived,
    update_campaign,
)
from webapp.services.deliverability import refresh_campaign_checks, start_campaign
from webapp.services.errors import InvalidInput
from webapp.services.inputs import MAX_PAGE, parse_int
from webapp.services.planning import action_to_dict, get_action, settle_stalled_actions
from webapp.web.api.blueprint import bp
from webapp.web.api.helpers import json_body


def _campaign_or_404(campaign_id: str) -> Campaign:
    campaign = get_campaign(campaign_id)
    if campaign is None:
        raise ApiError(404, _("no campaign %(id)s", id=repr(campaign_id)))
    return campaign


@bp.get("/campaigns")
def campaigns_index() -> Any:
    status = request.args.get("status") or None
    if status is not None and status not in CAMPAIGN_STATUSES:
        raise ApiError(
            422,
            _("invalid filter"),
            {"status": _("one of %(choices)s", choices=", ".join(CAMPAIGN_STATUSES))},
        )
    archived = _archived_arg()
    campaigns = list_campaigns(status, archived)
    progress = progress_by_campaign([c.id for c in campaigns])
    return [campaign_to_dict(c, progress[c.id]) for c in campaigns]


@bp.post("/campaigns")
def campaigns_create() -> Any:
    campaign = create_campaign(json_body(), current_user.id, utcnow())
    db.session.commit()
    return campaign_to_dict(campaign), 201


@bp.get("/campaigns/<campaign_id>")
def campaigns_show(campaign_id: str) -> Any:
    return campaign_to_dict(_campaign_or_404(campaign_id))


@bp.patch("/campaigns/<campaign_id>")
def campaigns_update(campaign_id: str) -> Any:
    campaign = _campaign_or_404(campaign_id)
    update_campaign(campaign, json_body(), current_user.id, utcnow())
    db.session.commit()
    return campaign_to_dict(campaign)


def _act(campaign_id: str, action: str) -> Any:
    """200 with the campaign when done at once; 202 with it and `status_url` when a job
    does the work (a large start, resume or stop)."""
    campaign = _campaign_or_404(campaign_id)
    now = utcnow()
    if action == "start":
        override = _override_dns()
        if refresh_campaign_checks(campaign, now):
            db.session.commit()  # kept even when the start is refused
        recorded = start_campaign(campaign, current_user.id, now, admin_override=override)
    else:
        recorded = request_action(campaign, action, current_user.id, now)
    db.session.commit()
    if recorded is None:
        return campaign_to_dict(campaign)
    status_url = url_for(
        "api.campaign_actions_show", campaign_id=campaign.id, action_id=recorded.id
    )
    body = campaign_to_dict(campaign)
    body["status_url"] = status_url
    return body, 202, {"Location": status_url}


# `archived`: false (the default) leaves archived campaigns out, true lists only them,
# any lists all; 1 and 0 as the campaigns page writes them (`?archived=1`).
ARCHIVED_CHOICES: dict[str, bool | None] = {
    "false": False,
    "0": False,
    "true": True,
    "1": True,
    "any": None,
}


def _archived_arg() -> bool | None:
    raw = (request.args.get("archived") or "false").lower()
    if raw not in ARCHIVED_CHOICES:
        raise ApiError(422, _("invalid filter"), {"archived": _("one of false, true, 0, 1, any")})
    return ARCHIVED_CHOICES[raw]


@bp.post("/campaigns/<campaign_id>/duplicate")
def campaigns_duplicate(campaign_id: str) -> Any:
    """A copy of the campaign as a new draft (201), its audience chosen again today."""
    copy = duplicate_campaign(_campaign_or_404(campaign_id), current_user.id, utcnow())
    db.session.commit()
    return (
        campaign_to_dict(copy),
        201,
        {"Location": url_for(".campaigns_show", campaign_id=copy.id)},
    )


@bp.delete("/campaigns/<campaign_id>")
def campaigns_delete(campaign_id: str) -> Any:
    """Delete a draft (204); a started campaign answers 409."""
    delete_draft(_campaign_or_404(campaign_id), current_user.id)
    db.session.commit()
    return "", 204


@bp.post("/campaigns/<campaign_id>/archive")
def campaigns_archive(campaign_id: str) -> Any:
    campaign = set_archived(_campaign_or_404(campaign_id), True, current_user.id, utcnow())
    db.session.commit()
    return campaign_to_dict(campaign)


@bp.post("/campaigns/<campaign_id>/unarchive")
def campaigns_unarchive(campaign_id: str) -> Any:
    campaign = set_archived(_campaign_or_404(campaign_id), False, current_user.id, utcnow())
    db.session.commit()
    return campaign_to_dict(campaign)


def _override_dns() -> bool:
    """`{"override_dns": true}`: an admin starts although the domains fail DNS checks."""
    body = json_body() if request.is_json and request.get_data() else {}
    override = body.get("override_dns", False)
    if not isinstance(override, bool):
        raise ApiError(422, _("invalid input"), {"override_dns": _("must be true or false")})
    if override and not current_user.is_admin:
        raise ApiError(403, _("only an admin may start a campaign despite failing DNS checks"))
    return override


@bp.get("/campaigns/<campaign_id>/actions/<action_id>")
def campaign_actions_show(campaign_id: str, action_id: str) -> Any:
    action = get_action(action_id)
    if action is None or action.campaign_id != campaign_id:
        raise ApiError(404, _("no action %(id)s", id=repr(action_id)))
    if action.status in (ActionStatus.PENDING, ActionStatus.RUNNING) and settle_stalled_actions():
        db.session.commit()  # a poller of a stopped action hears that it stopped
        db.session.refresh(action)
    return action_to_dict(action)


@bp.post("/campaigns/<campaign_id>/start")
def campaigns_start(campaign_id: str) -> Any:
    return _act(campaign_id, "start")


@bp.post("/campaigns/<campaign_id>/pause")
def campaigns_pause(campaign_id: str) -> Any:
    return _act(campaign_id, "pause")


@bp.post("/campaigns/<campaign_id>/resume")
def campaigns_resume(campaign_id: str) -> Any:
    return _act(campaign_id, "resume")


@bp.post("/campaigns/<campaign_id>/stop")
def campaigns_stop(campaign_id: str) -> Any:
    return _act(campaign_id, "stop")


@bp.get("/campaigns/<campaign_id>/messages")
def campaigns_messages(campaign_id: str) -> Any:
    """A page of messages; `cursor` (from `next_cursor` / `prev_cursor`) or `page`."""
    campaign = _campaign_or_404(campaign_id)
    errors: dict[str, str] = {}
    status = request.args.get("status") or None
    if status is not None and status not in MESSAGE_STATUSES:
        errors["status"] = _("one of %(choices)s", choices=", ".join(MESSAGE_STATUSES))
    mail_number = _int_arg("mail_number", 1, 4, errors)
    page = _int_arg("page", 1, MAX_PAGE, errors) or 1
    cursor = None
    if request.args.get("cursor"):
        try:
            cursor = MessageCursor.decode(request.args["cursor"])
        except InvalidInput as error:
            errors.update(error.fields)
    if errors:
        raise ApiError(422, _("invalid filter"), errors)
    domain = request.args.get("domain") or None
    result = list_messages(campaign.id, status, mail_number, domain, page, cursor=cursor)
    filters = {k: v for k, v in result.filters.items() if v}
    links = []
    for rel, token in (("next", result.next_cursor), ("prev", result.prev_cursor)):
        if token:
            url = url_for(".campaigns_messages", campaign_id=campaign.id, cursor=token, **filters)
            links.append(f'<{url}>; rel="{rel}"')
    body = {
        "items": result.items,
        "total": result.total,
        "page": page if cursor is None else None,
        "next_cursor": result.next_cursor,
        "prev_cursor": result.prev_cursor,
    }
    return body, 200, {"Link": ", ".join(links)} if links else {}


def _int_arg(name: str, low: int, high: int, errors: dict[str, str]) -> int | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return parse_int(raw, low, high)
    except ValueError:
        errors[name] = _(
            "a whole number from %(low)s to %(high)s", low=thousands(low), high=thousands(high)
        )
        return None
