"""Lifecycle actions from a request: small ones at once, large ones as a job.

A start, resume or stop that writes, moves or cancels more than `background_messages()`
messages is recorded as the campaign's pending action and run by `run_campaign_action`
after the request commits (a worker, or this process's pool without Redis): the request
answers at once, and the page and API show the progress. Pause never re-plans and always
runs at once.
"""

from __future__ import annotations

from datetime import datetime

from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Campaign, CampaignAction, CampaignStatus, PendingAction
from webapp.services.campaigns.lifecycle import (
    TRANSITIONS,
    TransitionError,
    apply_action,
)
from webapp.services.planning import (
    ActionPending,
    Lease,
    background_messages,
    estimate,
    plan_request_for,
    record_pending,
    replan_queued,
    run_pending,
    settle_stalled_actions,
)

__all__ = ["request_action", "run_campaign_action"]


def request_action(
    campaign: Campaign, action: str, user_id: str | None, now: datetime
) -> CampaignAction | None:
    """Apply a lifecycle action now (None), or record it for a job (its action row).

    TransitionError when the status does not allow it; ActionPending while another action
    of the campaign has not finished (one whose worker died is failed first, so a retry
    goes through). The caller commits; the job is enqueued by that commit.
    """
    if action not in ("start", "pause", "resume", "stop"):
        raise ValueError(f"unknown action {action!r}")
    if campaign.pending_action and settle_stalled_actions(now):
        campaign = _reloaded(campaign)
    if campaign.pending_action:
        raise ActionPending(campaign.name, campaign.pending_action)
    sources = TRANSITIONS[action][0]
    if campaign.status not in sources:
        raise TransitionError(action, campaign.status)
    if action == "pause":
        apply_action(campaign, action, user_id, now)
        return None
    total = estimate(campaign, action, plan_request_for(campaign).steps)
    if total <= background_messages():
        apply_action(campaign, action, user_id, now)
        return None
    recorded = record_pending(
        campaign, action, user_id, total, Campaign.status.in_(sorted(sources))
    )
    if recorded is None:
        if campaign.pending_action:
            raise ActionPending(campaign.name, campaign.pending_action)
        raise TransitionError(action, campaign.status)
    return recorded


def _reloaded(campaign: Campaign) -> Campaign:
    db.session.refresh(campaign)
    return campaign


def run_campaign_action(action_id: str) -> str:
    """Run a recorded start / resume / stop / re-plan; returns how it ended."""
    return run_pending(action_id, _work)


def _work(campaign: Campaign, action: CampaignAction, lease: Lease) -> int:
    now = utcnow()
    lease.progress("planning" if action.action != PendingAction.STOP else "canceling")
    if action.action == PendingAction.REPLAN:
        # A campaign paused or stopped since has nothing of its own to re-plan.
        if campaign.status != CampaignStatus.RUNNING:
            return 0
        return replan_queued(campaign, now)
    return apply_action(campaign, action.action, action.requested_by_id, now, pending=True)
