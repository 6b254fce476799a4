"""The campaign pages: the list, one campaign, its messages, its actions, editing it."""

from __future__ import annotations

from typing import Any, cast
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from webapp.database import utcnow
from webapp.extensions import db
from webapp.formats import thousands
from webapp.htmx import is_htmx, render_page_or_fragment, wants_fragment
from webapp.models import ActionStatus, Campaign, CampaignStatus, Lead, Message
from webapp.models.campaigns import CAMPAIGN_STATUSES
from webapp.models.messages import MESSAGE_STATUSES
from webapp.security import requires
from webapp.services.campaigns import (
    LIVE_EDITABLE,
    TRANSITIONS,
    CampaignConflict,
    CampaignInputError,
    MessageCursor,
    available_lists,
    campaign_plan,
    effective_domains,
    get_campaign,
    list_campaigns,
    list_messages,
    message_domains,
    message_to_dict,
    progress_by_campaign,
    request_action,
    send_moments,
    stored_filters,
    template_names,
    update_campaign,
)
from webapp.services.deliverability import DnsChecksFailed
from webapp.services.errors import Conflict, InvalidInput
from webapp.services.inputs import MAX_PAGE, clamp_int
from webapp.services.mail import get_template, list_templates
from webapp.services.planning import latest_action, list_domains, settle_stalled_actions
from webapp.services.sending import Decision, decide_uncertain, resend_message
from webapp.web.campaigns.blueprint import bp
from webapp.web.campaigns.dns_gate import refused_start, start_from_page
from webapp.web.campaigns.forms import (
    audience_input,
    form_errors,
    local_today,
    read_state,
    state_from_campaign,
    to_input,
)
from webapp.web.campaigns.previews import audience_preview_context

ACTIONS = ("start", "pause", "resume", "stop")
OPEN = (ActionStatus.PENDING, ActionStatus.RUNNING)
# Stop cancels queued mail, and a draft has none: its page offers Start. (The state machine
# still lets the API stop a draft, to retire it.)
NOT_OFFERED = {"draft": {"stop"}}
ACTION_LABELS = {
    "start": _l("Start"),
    "pause": _l("Pause"),
    "resume": _l("Resume"),
    "stop": _l("Stop"),
}
# Each says what happened to the campaign named `name`.
DONE = {
    "start": _l("Started “%(name)s”: its messages are queued."),
    "pause": _l("Paused “%(name)s”. Queued messages wait until you resume."),
    "resume": _l("Resumed “%(name)s”: its queued messages were re-planned from now."),
    "stop": _l("Stopped “%(name)s”. Every queued message was canceled."),
}
# Each says that a job does the work now, for `count` messages of the campaign `name`.
UNDER_WAY = {
    "start": _l(
        "Starting “%(name)s”: its %(count)s messages are being planned. This page shows the"
        " progress."
    ),
    "resume": _l(
        "Resuming “%(name)s”: its %(count)s queued messages are being re-planned from now."
        " This page shows the progress."
    ),
    "stop": _l(
        "Stopping “%(name)s”: its %(count)s queued messages are being canceled. This page"
        " shows the progress."
    ),
}


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["APP_TIMEZONE"])


def _campaign(campaign_id: str) -> Campaign:
    return get_campaign(campaign_id) or abort(404)


@bp.get("/")
def index() -> Any:
    status = request.args.get("status") or None
    status = status if status in CAMPAIGN_STATUSES else None
    archived = request.args.get("archived") == "1"
    campaigns = list_campaigns(status, archived)
    return render_page_or_fragment(
        "campaigns/index.html",
        "campaigns/_table.html",
        campaigns=campaigns,
        progress=progress_by_campaign([c.id for c in campaigns]),
        templates=template_names(campaigns),
        status=status,
        statuses=CAMPAIGN_STATUSES,
        archived=archived,
        domains_of=effective_domains,
    )


@bp.post("/audience-preview")
def audience_preview() -> Any:
    """The live funnel for the builder's current settings (an htmx fragment)."""
    state = read_state(request.form)
    return render_template(
        "campaigns/_audience_preview.html",
        **audience_preview_context(audience_input(state), utcnow()),
    )


@bp.get("/<campaign_id>")
def show(campaign_id: str) -> Any:
    """The campaign from what is stored: its settings, progress and plan from the summaries.

    A draft's funnel is live (its filters on today's data) and its dry run loads on its own
    URL after the page; a started campaign shows its snapshot and its plan as written.
    """
    campaign = _campaign(campaign_id)
    context: dict[str, Any] = {}
    if campaign.status == CampaignStatus.DRAFT:
        context.update(audience_preview_context(stored_filters(campaign).to_dict(), utcnow()))
    else:
        context.update(plan=campaign_plan(campaign.id), **_messages_context(campaign))
    return render_template(
        "campaigns/show.html",
        campaign=campaign,
        template=get_template(campaign.template_id),
        progress=progress_by_campaign([campaign.id])[campaign.id],
        domains=effective_domains(campaign),
        actions=_allowed_actions(campaign),
        **context,
    )


def _allowed_actions(campaign: Campaign) -> list[tuple[str, Any]]:
    """The buttons the campaign's status allows; none once it is completed or stopped."""
    if campaign.pending_action:
        return []  # one action at a time: the page shows the pending one's progress
    hidden = NOT_OFFERED.get(campaign.status, set())
    return [
        (a, ACTION_LABELS[a])
        for a in ACTIONS
        if campaign.status in TRANSITIONS[a][0] and a not in hidden
    ]


def _messages_context(campaign: Campaign) -> dict[str, Any]:
    args = request.args
    status = args.get("status") if args.get("status") in MESSAGE_STATUSES else None
    number = args.get("mail_number", "")
    mail_number = int(number) if number in ("1", "2", "3", "4") else None
    domain = args.get("domain") or None
    page = clamp_int(args.get("page"), 1, 1, MAX_PAGE)
    cursor = None
    if args.get("cursor"):
        try:
            cursor = MessageCursor.decode(args["cursor"])
        except InvalidInput:
            page = 1  # a cursor from a mangled link: the first page, not an error page
    result = list_messages(campaign.id, status, mail_number, domain, page, cursor=cursor)
    return {
        "messages": result.items,
        "messages_page": result,
        "filters": result.filters,
        "message_statuses": MESSAGE_STATUSES,
        "message_domains": message_domains(campaign.id),
    }


@bp.get("/<campaign_id>/messages")
def messages(campaign_id: str) -> Any:
    campaign = _campaign(campaign_id)
    return render_page_or_fragment(
        "campaigns/messages.html",
        "campaigns/_messages.html",
        campaign=campaign,
        **_messages_context(campaign),
    )


# The operator's choices on one message row.
MESSAGE_ACTIONS = {"resend": None, "mark_sent": Decision.SENT, "send_again": Decision.RESEND}


@bp.post("/<campaign_id>/messages/<message_id>")
def message_action(campaign_id: str, message_id: str) -> Any:
    campaign = _campaign(campaign_id)
    message = db.session.get(Message, message_id)
    action = request.form.get("action", "")
    if message is None or message.campaign_id != campaign.id or action not in MESSAGE_ACTIONS:
        abort(404)
    if action == "resend":
        resend_message(message, current_user.id, utcnow())
    else:
        decide_uncertain(message, cast(str, MESSAGE_ACTIONS[action]), current_user.id, utcnow())
    db.session.commit()
    lead = db.session.get(Lead, message.lead_id)
    row = message_to_dict(
        message,
        lead.email if lead else "",
        lead.company if lead else None,
        send_moments([message]).get(message.id),
    )
    return render_template("campaigns/_message_row.html", m=row, campaign=campaign)


@bp.post("/<campaign_id>/start", defaults={"action": "start"})
@bp.post("/<campaign_id>/pause", defaults={"action": "pause"})
@bp.post("/<campaign_id>/resume", defaults={"action": "resume"})
@bp.post("/<campaign_id>/stop", defaults={"action": "stop"})
def act(campaign_id: str, action: str) -> Any:
    campaign = _campaign(campaign_id)
    name = campaign.name
    try:
        if action == "start":
            recorded = start_from_page(campaign)
        else:
            recorded = request_action(campaign, action, current_user.id, utcnow())
    except DnsChecksFailed as error:
        db.session.rollback()
        if current_user.is_admin:
            return refused_start(_campaign(campaign_id), error)
        flash(error.message, "error")
        return _back_to(campaign_id, status=409)
    except Conflict as error:
        db.session.rollback()
        flash(error.message, "error")
        return _back_to(campaign_id, status=409)
    total = recorded.total if recorded is not None else 0
    db.session.commit()
    if recorded is None:
        flash(DONE[action] % {"name": name}, "success")
    else:
        flash(UNDER_WAY[action] % {"name": name, "count": thousands(total)}, "info")
    return _back_to(campaign_id)


@bp.get("/<campaign_id>/pending")
def pending(campaign_id: str) -> Any:
    """The progress of the campaign's start / resume / stop / re-plan (polled by its page)."""
    campaign = _campaign(campaign_id)
    action = latest_action(campaign.id)
    if action is not None and action.status in OPEN and settle_stalled_actions():
        db.session.commit()  # the page watching a stopped action says so
        action = latest_action(campaign.id)
    if not wants_fragment():
        return redirect(url_for("campaigns.show", campaign_id=campaign.id), code=303)
    if action is None or action.status == ActionStatus.DONE:
        # Done: the whole page changes (status, actions, plan).
        return "", 200, {"HX-Refresh": "true"}
    html = render_template("campaigns/_pending.html", campaign=campaign, action=action)
    return (html, 286) if action.status == ActionStatus.FAILED else html


def _back_to(campaign_id: str, status: int = 303) -> Any:
    target = url_for("campaigns.show", campaign_id=campaign_id)
    if is_htmx():
        # The whole page changes (status, actions, progress): let htmx load it.
        return "", 200 if status == 303 else status, {"HX-Redirect": target}
    return redirect(target, code=303)


@bp.get("/<campaign_id>/edit")
@requires("run_campaigns")
def edit(campaign_id: str) -> Any:
    campaign = _campaign(campaign_id)
    state = state_from_campaign(campaign, _zone())
    return _render_edit(campaign, state, {})


@bp.post("/<campaign_id>/edit")
def update(campaign_id: str) -> Any:
    campaign = _campaign(campaign_id)
    now, zone = utcnow(), _zone()
    state = read_state(request.form)
    raw, errors = to_input(state, zone, local_today(now, zone))
    if campaign.status != CampaignStatus.DRAFT:
        raw = {key: value for key, value in raw.items() if key in LIVE_EDITABLE}
        errors = {}
    if errors:
        return _render_edit(campaign, state, errors, status=422)
    try:
        update_campaign(campaign, raw, current_user.id, now)
    except CampaignInputError as error:
        db.session.rollback()
        return _render_edit(_campaign(campaign_id), state, form_errors(error.fields), 422)
    except CampaignConflict as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("campaigns.show", campaign_id=campaign_id), code=303)
    db.session.commit()
    flash(_("Saved “%(name)s”.", name=campaign.name), "success")
    return redirect(url_for("campaigns.show", campaign_id=campaign_id), code=303)


def _render_edit(
    campaign: Campaign, state: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Any:
    context: dict[str, Any] = {"campaign": campaign, "state": state, "errors": errors}
    if campaign.status == CampaignStatus.DRAFT:
        context.update(
            templates=list_templates(),
            lists=available_lists(),
            domains=list_domains(),
            **audience_preview_context(audience_input(state), utcnow()),
        )
    return render_template("campaigns/edit.html", **context), status
