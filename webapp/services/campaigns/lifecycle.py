"""Campaigns: creating and editing them, and their lifecycle as one state machine.

draft -> running -> paused -> running -> completed; stopped from draft, running or paused.
Every transition is one conditional UPDATE (`... WHERE status IN (allowed)`): two requests
racing to start a campaign serialise on its row, and the second finds it running already.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from webapp.database import affected_rows, utcnow
from webapp.extensions import db
from webapp.models import (
    Campaign,
    CampaignAudience,
    CampaignStatus,
    CancelReason,
    EventType,
    Lead,
    LeadStatus,
    Message,
    MessageEvent,
    MessageStatus,
    Template,
)
from webapp.services.audit import AuditAction, record_action
from webapp.services.campaigns.audience import AudienceFilters, selected_lead_ids
from webapp.services.campaigns.input import (
    LIVE_EDITABLE,
    CampaignInputError,
    parse_campaign_input,
)
from webapp.services.errors import Conflict
from webapp.services.planning import (
    ActionPending,
    PlanError,
    PlanRequest,
    auto_domain_for,
    persist_plan,
    plan_request_for,
    replan_queued,
)

# action: (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "start": (frozenset({CampaignStatus.DRAFT}), CampaignStatus.RUNNING),
    "pause": (frozenset({CampaignStatus.RUNNING}), CampaignStatus.PAUSED),
    "resume": (frozenset({CampaignStatus.PAUSED}), CampaignStatus.RUNNING),
    "stop": (
        frozenset({CampaignStatus.DRAFT, CampaignStatus.RUNNING, CampaignStatus.PAUSED}),
        CampaignStatus.STOPPED,
    ),
    "complete": (frozenset({CampaignStatus.RUNNING}), CampaignStatus.COMPLETED),
}
# Why an action is refused, per action: whole sentences, so each language orders its words.
REFUSALS = {
    "start": _l("Cannot start this campaign: it is %(status)s; only a draft can be started."),
    "pause": _l(
        "Cannot pause this campaign: it is %(status)s; only a running campaign can be paused."
    ),
    "resume": _l(
        "Cannot resume this campaign: it is %(status)s; only a paused campaign can be resumed."
    ),
    "stop": _l(
        "Cannot stop this campaign: it is %(status)s; a completed or stopped campaign cannot be"
        " stopped."
    ),
    "complete": _l(
        "Cannot complete this campaign: it is %(status)s; only a running campaign can complete."
    ),
}
# A plan that cannot be made, per action that plans.
PLAN_REFUSALS = {
    "start": _l("Cannot start this campaign: %(error)s"),
    "resume": _l("Cannot resume this campaign: %(error)s"),
}
# A status as a refusal names it.
STATUS_WORDS: dict[str, Any] = {
    CampaignStatus.DRAFT: _l("draft"),
    CampaignStatus.RUNNING: _l("running"),
    CampaignStatus.PAUSED: _l("paused"),
    CampaignStatus.STOPPED: _l("stopped"),
    CampaignStatus.COMPLETED: _l("completed"),
}
# Why a finished campaign cannot change, and what a started one still takes.
FINISHED: dict[str, Any] = {
    CampaignStatus.COMPLETED: _l("A completed campaign can no longer change."),
    CampaignStatus.STOPPED: _l("A stopped campaign can no longer change."),
}
STARTED: dict[str, Any] = {
    CampaignStatus.RUNNING: _l("A running campaign only takes changes to its name and follow-ups."),
    CampaignStatus.PAUSED: _l("A paused campaign only takes changes to its name and follow-ups."),
}


def status_word(status: str) -> str:
    """A campaign status in the reader's language (the raw value when it has no label)."""
    word = STATUS_WORDS.get(status)
    return str(word) if word is not None else status


class CampaignConflict(Conflict):
    """The campaign's state does not allow this (an API 409)."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message, fields=fields)


class TransitionError(CampaignConflict):
    """A lifecycle action the campaign's status does not allow."""

    def __init__(self, action: str, status: str) -> None:
        super().__init__(str(REFUSALS[action]) % {"status": status_word(status)})
        self.action = action
        self.status = status


def get_campaign(campaign_id: str) -> Campaign | None:
    return db.session.get(Campaign, campaign_id)


def snapshot_audience(filters: AudienceFilters, now: datetime) -> CampaignAudience:
    """The selected lead ids (oldest first) and the filter settings that chose them."""
    return CampaignAudience(
        lead_ids=selected_lead_ids(filters, now),
        list_names=list(filters.list_names),
        only_complete=filters.only_complete,
        exclude_suppressed=filters.exclude_suppressed,
        # 0 is "off": the column's default would turn a NULL into 14 on insert.
        exclude_recent_days=filters.exclude_recent_days or 0,
        one_per_domain=filters.one_per_domain,
    )


def stored_filters(campaign: Campaign) -> AudienceFilters:
    """The campaign's audience settings, as the builder takes them."""
    audience = campaign.audience
    if audience is None:
        return AudienceFilters(list_names=(), template_id=campaign.template_id)
    return AudienceFilters(
        list_names=tuple(audience.list_names or ()),
        only_complete=audience.only_complete,
        exclude_suppressed=audience.exclude_suppressed,
        exclude_recent_days=audience.exclude_recent_days or None,
        one_per_domain=audience.one_per_domain,
        template_id=campaign.template_id,
    )


def create_campaign(raw: dict[str, Any], user_id: str | None, now: datetime) -> Campaign:
    """A new draft with its audience snapshot; CampaignInputError names every bad field."""
    values, errors = parse_campaign_input(raw, now)
    if errors:
        raise CampaignInputError(errors)
    filters: AudienceFilters = values.pop("audience")
    filters = replace(filters, template_id=values["template_id"])
    audience = snapshot_audience(filters, now)
    if not audience.lead_ids:
        raise CampaignInputError({"audience": _("these filters select no leads")})
    chosen = values.pop("domains", [])
    campaign = Campaign(**values, domains=chosen, created_by_id=user_id)
    campaign.audience = audience
    campaign.domain = chosen[0] if chosen else auto_domain(campaign, now)
    db.session.add(campaign)
    db.session.flush()
    record_action(AuditAction.CAMPAIGN_CREATED, "campaign", campaign.id, user_id,
                  {"name": campaign.name, "audience_size": len(audience.lead_ids)})  # fmt: skip
    return campaign


def auto_domain(campaign: Campaign, now: datetime) -> str | None:
    """The domain on which the campaign's mails would be out first (docs/rules.md)."""
    return auto_domain_for(plan_request_for(campaign), now)


def update_campaign(
    campaign: Campaign, raw: dict[str, Any], user_id: str | None, now: datetime
) -> Campaign:
    """Edit a draft (everything) or a started campaign (name and follow-up settings)."""
    if campaign.pending_action:
        raise ActionPending(campaign.name, campaign.pending_action)
    if campaign.status in (CampaignStatus.COMPLETED, CampaignStatus.STOPPED):
        raise CampaignConflict(str(FINISHED[campaign.status]))
    if campaign.status != CampaignStatus.DRAFT:
        frozen = sorted(set(raw) - LIVE_EDITABLE)
        if frozen:
            raise CampaignConflict(
                str(STARTED[campaign.status]),
                dict.fromkeys(
                    frozen,
                    _(
                        "cannot change once the campaign is %(status)s",
                        status=status_word(campaign.status),
                    ),
                ),
            )
    values, errors = parse_campaign_input(raw, now, partial=True)
    if errors:
        raise CampaignInputError(errors)
    followups_before = (
        campaign.followup_enabled,
        campaign.followup_days,
        list(campaign.step_delays or []),
    )
    filters: AudienceFilters | None = values.pop("audience", None)
    if "domains" in values:
        campaign.domains = values.pop("domains")
        campaign.domain = campaign.domains[0] if campaign.domains else None
    for key, value in values.items():
        setattr(campaign, key, value)
    if campaign.status == CampaignStatus.DRAFT and (filters is not None or "template_id" in values):
        filters = filters or stored_filters(campaign)
        filters = replace(filters, template_id=campaign.template_id)
        audience = snapshot_audience(filters, now)
        if not audience.lead_ids:
            raise CampaignInputError({"audience": _("these filters select no leads")})
        campaign.audience = audience
    if not campaign.domains and (campaign.domain is None or campaign.status == "draft"):
        # A draft's automatic domain follows its audience, start and follow-ups.
        campaign.domain = auto_domain(campaign, now)
    db.session.flush()
    if campaign.status != CampaignStatus.DRAFT and followups_before != (
        campaign.followup_enabled,
        campaign.followup_days,
        list(campaign.step_delays or []),
    ):
        _replan_followups(campaign, now)
    record_action(
        AuditAction.CAMPAIGN_UPDATED, "campaign", campaign.id, user_id, {"fields": sorted(raw)}
    )
    return campaign


def _replan_followups(campaign: Campaign, now: datetime) -> None:
    """After a follow-up change: drop queued follow-ups when off; when on, bring back those
    switched off and plan missing ones; then move what is queued to the new settings' slots."""

    if not campaign.followup_enabled:
        _cancel(campaign, CancelReason.FOLLOWUPS_OFF, Message.mail_number > 1)
    else:
        _revive_followups(campaign)
        persist_plan(campaign, now)
    if campaign.status == CampaignStatus.RUNNING:
        replan_queued(campaign, now)


# A lead's thread in a campaign is over once one of its mails is in one of these statuses
# or has one of these events.
ENDS_A_THREAD = (MessageStatus.BOUNCED, MessageStatus.FAILED, MessageStatus.UNCERTAIN)
ENDS_A_THREAD_EVENTS = (EventType.REPLIED, EventType.UNSUBSCRIBED, EventType.BOUNCED)


def _revive_followups(campaign: Campaign) -> int:
    """Queue again the follow-ups that switching follow-ups off canceled, unless the lead
    has since stopped being mailable or something else ended its thread."""
    other = aliased(Message)
    ended = sa.exists().where(
        other.campaign_id == campaign.id,
        other.lead_id == Message.lead_id,
        sa.or_(
            other.status.in_(ENDS_A_THREAD),
            sa.and_(other.status == MessageStatus.CANCELED, sa.func.coalesce(other.last_error, "")
                    != CancelReason.FOLLOWUPS_OFF),
            sa.exists().where(
                MessageEvent.message_id == other.id,
                MessageEvent.event_type.in_(ENDS_A_THREAD_EVENTS),
            ),
        ),
    )  # fmt: skip
    mailable = sa.exists().where(
        Lead.id == Message.lead_id,
        Lead.status == LeadStatus.ACTIVE,
        Lead.stopped.is_(False),
        Lead.deleted_at.is_(None),
    )
    result = db.session.execute(
        sa.update(Message)
        .where(
            Message.campaign_id == campaign.id,
            Message.status == MessageStatus.CANCELED,
            Message.last_error == CancelReason.FOLLOWUPS_OFF,
            mailable,
            ~ended,
        )
        .values(status=MessageStatus.QUEUED, last_error=None)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result)


def _cancel(campaign: Campaign, reason: str, *conditions: sa.ColumnElement[bool]) -> int:
    result = db.session.execute(
        sa.update(Message)
        .where(
            Message.campaign_id == campaign.id, Message.status == MessageStatus.QUEUED, *conditions
        )
        .values(status=MessageStatus.CANCELED, last_error=reason)
        .execution_options(synchronize_session=False)
    )
    return affected_rows(result)


def _transition(
    campaign: Campaign,
    action: str,
    now: datetime,
    *conditions: sa.ColumnElement[bool],
    pending: bool = False,
) -> bool:
    """Move the campaign to the action's status if its current one allows; False if not.

    Never while another action is pending; with `pending`, the action is the one the
    campaign waits for, and this clears it.
    """
    sources, target = TRANSITIONS[action]
    values: dict[str, Any] = {"status": target, "updated_at": now}
    if pending:
        values["pending_action"] = None
        conditions = (*conditions, Campaign.pending_action == action)
    else:
        conditions = (*conditions, Campaign.pending_action.is_(None))
    if action == "start":
        values["started_at"] = now
    if target in (CampaignStatus.STOPPED, CampaignStatus.COMPLETED):
        values["finished_at"] = now
    result = db.session.execute(
        sa.update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status.in_(sorted(sources)), *conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    # Re-read: on failure this shows the status the other request committed.
    db.session.refresh(campaign)
    return affected_rows(result) == 1


def apply_action(
    campaign: Campaign, action: str, user_id: str | None, now: datetime, pending: bool = False
) -> int:
    """start / pause / resume / stop; returns messages written, moved or canceled.

    TransitionError when the status does not allow it, ActionPending while another action
    is pending (`pending`: this is the action the campaign waits for, run by its job). The
    caller commits (or rolls back: a plan that cannot be made leaves the campaign a draft).
    """
    if action not in ("start", "pause", "resume", "stop"):
        raise ValueError(f"unknown action {action!r}")

    if not _transition(campaign, action, now, pending=pending):
        if campaign.pending_action and not pending:
            raise ActionPending(campaign.name, campaign.pending_action)
        raise TransitionError(action, campaign.status)
    affected = 0
    try:
        if action == "start":
            affected = persist_plan(campaign, now)
        elif action == "resume":
            affected = replan_queued(campaign, now)
    except PlanError as error:
        raise CampaignConflict(str(PLAN_REFUSALS[action]) % {"error": error}) from None
    if action == "stop":
        affected = _cancel(campaign, CancelReason.CAMPAIGN_STOPPED)
    record_action(
        AuditAction(f"campaign.{action}"), "campaign", campaign.id, user_id, {"messages": affected}
    )
    return affected


def complete_if_done(campaign: Campaign, now: datetime | None = None) -> bool:
    """Complete a running campaign with nothing left queued or in flight; True if it did."""
    now = now or utcnow()
    live = sa.exists().where(
        Message.campaign_id == campaign.id,
        Message.status.in_((MessageStatus.QUEUED, MessageStatus.SENDING)),
    )
    return _transition(campaign, "complete", now, ~live)


def plan_request_for_input(raw: dict[str, Any], now: datetime) -> Any:
    """The planner's request for a campaign not saved yet (the wizard's dry run)."""
    values, errors = parse_campaign_input(raw, now)
    if errors:
        raise CampaignInputError(errors)
    template = db.session.get(Template, values["template_id"])
    assert template is not None  # parse_campaign_input checked it
    return PlanRequest(
        lead_ids=selected_lead_ids(replace(values["audience"], template_id=template.id), now),
        steps=max(step.mail_number for step in template.steps),
        start_at=values.get("start_at"),
        followup_enabled=values["followup_enabled"],
        followup_days=values["followup_days"],
        step_delays=tuple(values.get("step_delays", [])),
        domains=values.get("domains", []),
        campaign_id=None,
        template_id=template.id,
        attach_report=values["followup_attach_report"],
    )
