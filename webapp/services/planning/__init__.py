"""Planning: slots, the planner, writing and re-planning plans, the dry run, availability.

What other areas and the web layer may use; the modules inside are the area's own.
"""

from __future__ import annotations

from webapp.services.planning.availability import domain_availability
from webapp.services.planning.bookings import live_per_campaign_day, live_per_day
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
)
from webapp.services.planning.report import (
    WarningCode,
    campaign_dry_run,
    dry_run_report,
)
from webapp.services.planning.slots import (
    DomainCalendar,
    PlanError,
)

__all__ = [
    "MAX_START_AHEAD",
    "DomainCalendar",
    "PlanError",
    "PlanRequest",
    "WarningCode",
    "auto_assign_domain",
    "auto_domain_for",
    "campaign_dry_run",
    "domain_availability",
    "domain_spec",
    "dry_run_report",
    "list_domains",
    "live_per_campaign_day",
    "live_per_day",
    "persist_plan",
    "plan_request_for",
    "replan_domain_campaigns",
    "replan_queued",
]
