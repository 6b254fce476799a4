"""Deliverability: DKIM keys of the sending domains, their DNS checks, and the start gate.

What other areas and the web layer may use; the modules inside are the area's own.
"""

from __future__ import annotations

from webapp.services.deliverability.checks import (
    CHECK_NAMES,
    GATED_CHECKS,
    check_domain,
    checks_notice,
    daily_checks,
    present_checks,
    run_checks,
    worst_status,
)
from webapp.services.deliverability.dkim import (
    DkimRecord,
    RetiredKey,
    dkim_records,
    generate_dkim_key,
    import_dkim_key,
    retired_key,
    rotate_dkim_key,
)
from webapp.services.deliverability.gate import (
    DnsChecksFailed,
    dns_checks_enforced,
    refresh_campaign_checks,
    start_blockers,
    start_campaign,
)
from webapp.services.deliverability.keys import activate_dkim_key
from webapp.services.deliverability.lookup import Lookup, parse_resolver

__all__ = [
    "CHECK_NAMES",
    "GATED_CHECKS",
    "DkimRecord",
    "DnsChecksFailed",
    "Lookup",
    "RetiredKey",
    "activate_dkim_key",
    "check_domain",
    "checks_notice",
    "daily_checks",
    "dkim_records",
    "dns_checks_enforced",
    "generate_dkim_key",
    "import_dkim_key",
    "parse_resolver",
    "present_checks",
    "refresh_campaign_checks",
    "retired_key",
    "rotate_dkim_key",
    "run_checks",
    "start_blockers",
    "start_campaign",
    "worst_status",
]
