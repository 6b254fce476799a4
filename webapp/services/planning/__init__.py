"""Planning: slots, the planner, writing and re-planning plans, the dry run, availability.

What other areas and the web layer may use; the modules inside are the area's own.
"""

from __future__ import annotations

from webapp.services.planning.availability import domain_availability, slot_lines
from webapp.services.planning.bookings import live_per_campaign_day, live_per_day
from webapp.services.planning.pending import (
    DOING,
    ActionPending,
    Lease,
    action_to_dict,
    background_messages,
    doing_word,
    estimate,
    get_action,
    latest_action,
    open_actions,
    record_pending,
    run_pending,
    settle_stalled_actions,
)
from webapp.services.planning.plans import (
    MAX_START_AHEAD,
    PlanRequest,
    auto_assign_domain,
    auto_domain_for,
    domain_spec,
    list_domains,
    persist_plan,
    plan_request_for,
)
from webapp.services.planning.replanning import (
    replan_domain_campaigns,
    replan_queued,
    request_domain_replans,
    request_replan,
)
from webapp.services.planning.report import (
    KeptDryRun,
    WarningCode,
    campaign_dry_run,
    dry_run_report,
    enqueue_dry_run,
    kept_dry_run,
    make_dry_run,
)
from webapp.services.planning.slots import (
    DomainCalendar,
    PlanError,
    send_offset,
    with_ramp_start,
)

__all__ = [
    "DOING",
    "MAX_START_AHEAD",
    "ActionPending",
    "DomainCalendar",
    "KeptDryRun",
    "Lease",
    "PlanError",
    "PlanRequest",
    "WarningCode",
    "action_to_dict",
    "auto_assign_domain",
    "auto_domain_for",
    "background_messages",
    "campaign_dry_run",
    "doing_word",
    "domain_availability",
    "domain_spec",
    "dry_run_report",
    "enqueue_dry_run",
    "estimate",
    "get_action",
    "kept_dry_run",
    "latest_action",
    "list_domains",
    "live_per_campaign_day",
    "live_per_day",
    "make_dry_run",
    "open_actions",
    "persist_plan",
    "plan_request_for",
    "record_pending",
    "replan_domain_campaigns",
    "replan_queued",
    "request_domain_replans",
    "request_replan",
    "run_pending",
    "send_offset",
    "settle_stalled_actions",
    "slot_lines",
    "with_ramp_start",
]
