"""Campaigns: the audience, the state machine, input checking, listing and exports.

What other areas and the web layer may use; the modules inside are the area's own.
"""

from __future__ import annotations

from webapp.services.campaigns.actions import (
    request_action,
    run_campaign_action,
)
from webapp.services.campaigns.audience import (
    AudienceError,
    available_lists,
    parse_filters,
    preview_audience,
)
from webapp.services.campaigns.copies import (
    delete_draft,
    duplicate_campaign,
    set_archived,
)
from webapp.services.campaigns.experiments import (
    auto_winner_ready,
    declare_auto_winners,
    declare_winner,
)
from webapp.services.campaigns.export import (
    experiments_csv,
    kpi_csv,
    messages_csv,
)
from webapp.services.campaigns.input import (
    LIVE_EDITABLE,
    CampaignInputError,
    parse_campaign_input,
)
from webapp.services.campaigns.lifecycle import (
    TRANSITIONS,
    CampaignConflict,
    apply_action,
    complete_if_done,
    create_campaign,
    get_campaign,
    plan_request_for_input,
    stored_filters,
    update_campaign,
)
from webapp.services.campaigns.listing import (
    campaign_plan,
    campaign_to_dict,
    effective_domains,
    last_due_by_campaign,
    list_campaigns,
    progress_by_campaign,
    template_names,
)
from webapp.services.campaigns.message_pages import (
    MessageCursor,
    MessagePage,
    count_messages,
    list_messages,
    message_domains,
    message_to_dict,
    send_moments,
)

__all__ = [
    "LIVE_EDITABLE",
    "TRANSITIONS",
    "AudienceError",
    "CampaignConflict",
    "CampaignInputError",
    "MessageCursor",
    "MessagePage",
    "apply_action",
    "auto_winner_ready",
    "available_lists",
    "campaign_plan",
    "campaign_to_dict",
    "complete_if_done",
    "count_messages",
    "create_campaign",
    "declare_auto_winners",
    "declare_winner",
    "delete_draft",
    "duplicate_campaign",
    "effective_domains",
    "experiments_csv",
    "get_campaign",
    "kpi_csv",
    "last_due_by_campaign",
    "list_campaigns",
    "list_messages",
    "message_domains",
    "message_to_dict",
    "messages_csv",
    "parse_campaign_input",
    "parse_filters",
    "plan_request_for_input",
    "preview_audience",
    "progress_by_campaign",
    "request_action",
    "run_campaign_action",
    "send_moments",
    "set_archived",
    "stored_filters",
    "template_names",
    "update_campaign",
]
