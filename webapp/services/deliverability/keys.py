"""Activating a pending DKIM key once the DNS shows its record."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _

from webapp.models import SendingDomain
from webapp.services.deliverability.checks import check_domain
from webapp.services.deliverability.dkim import DkimRecord, dkim_records, promote_pending_key
from webapp.services.deliverability.lookup import DnsUnavailable, Lookup
from webapp.services.deliverability.records import published_dkim_key
from webapp.services.errors import Conflict


def activate_dkim_key(domain: SendingDomain, user_id: str | None, now: datetime) -> DkimRecord:
    """Sign with the pending key from now on; Conflict unless its record is in the DNS
    (asked now), so no mail is signed with a key receivers cannot look up. The checks are
    run again afterwards. The caller commits."""
    pending = next((r for r in dkim_records(domain) if r.state == "pending"), None)
    if pending is None:
        raise Conflict(_("%(domain)s has no pending DKIM key", domain=domain.name))
    try:
        published = published_dkim_key(Lookup.for_app(), pending.dns_name)
    except DnsUnavailable:
        raise Conflict(_("The DNS did not answer in time; try again in a while.")) from None
    if published != pending.public_key:
        raise Conflict(
            _(
                "The record at %(name)s does not hold the new key yet; publish it first, "
                "then activate (DNS changes can take a while to show).",
                name=pending.dns_name,
            ),
            code="dkim_not_published",
        )
    record = promote_pending_key(domain, user_id)
    check_domain(domain, now)
    return record
