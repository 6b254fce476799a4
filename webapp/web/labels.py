"""Status values as people read them, in the reader's language.

Pages show a status through these labels; data-* attributes and CSS classes keep the raw
value. Registered as Jinja globals (`campaign_status_labels`, `message_status_labels`,
`message_reason_labels`), so imported macros can use them too:
`{{ campaign_status_labels.get(status, status) }}`.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from webapp.models import CancelReason
from webapp.services.planning import DOING

CAMPAIGN_STATUS_LABELS = {
    "draft": _l("draft"),
    "running": _l("running"),
    "paused": _l("paused"),
    "stopped": _l("stopped"),
    "completed": _l("completed"),
}
MESSAGE_STATUS_LABELS = {
    "queued": _l("queued"),
    "sending": _l("sending"),
    "sent": _l("sent"),
    "opened": _l("opened"),
    "failed": _l("failed"),
    "bounced": _l("bounced"),
    "canceled": _l("canceled"),
    "uncertain": _l("uncertain"),
}
# What happened to a mail (`message_events.event_type`), as the latest events and a lead's
# history name it.
EVENT_LABELS = {
    "sent": _l("sent"),
    "opened": _l("opened"),
    "clicked": _l("clicked"),
    "replied": _l("replied"),
    "auto_replied": _l("auto-replied"),
    "bounced": _l("bounced"),
    "soft_bounce": _l("soft bounce"),
    "deferred": _l("deferred"),
    "failed": _l("failed"),
    "uncertain": _l("uncertain"),
    "unsubscribed": _l("unsubscribed"),
    "canceled": _l("canceled"),
    "resent": _l("resent"),
}

# Why a mail was canceled (or left undecided), as `last_error` stores it: the sending rules'
# reasons and CancelReason. Any other text there (an SMTP reply, a render error) is shown
# as it is.
MESSAGE_REASON_LABELS = {
    CancelReason.CAMPAIGN_STOPPED: _l("campaign stopped"),
    "campaign completed": _l("campaign completed"),
    CancelReason.FOLLOWUPS_OFF: _l("follow-ups switched off"),
    CancelReason.EARLIER_MAIL_FAILED: _l("earlier mail failed"),
    "earlier mail not sent": _l("earlier mail not sent"),
    CancelReason.LEAD_REPLIED: _l("lead replied"),
    CancelReason.COMPANY_REPLIED: _l("someone at the company replied"),
    CancelReason.LEAD_DELETED: _l("lead deleted"),
    CancelReason.LEAD_STOPPED: _l("lead stopped"),
    CancelReason.LEAD_SUPPRESSED: _l("lead suppressed"),
    CancelReason.LEAD_BOUNCED: _l("lead bounced"),
    CancelReason.ADDRESS_SUPPRESSED: _l("address on the suppression list"),
    CancelReason.DOMAIN_SUPPRESSED: _l("domain on the suppression list"),
    # Written before the guard named which of the two it was.
    "suppressed": _l("suppressed"),
    CancelReason.EMAILED_RECENTLY: _l("emailed recently"),
    CancelReason.LEAD_MAILED_ELSEWHERE: _l("lead recently mailed by another campaign"),
    CancelReason.COMPANY_MAILED_ELSEWHERE: _l("company recently mailed by another campaign"),
    "no outcome within the send lease": _l("no answer from the mail server in time"),
}


def init_labels(app: Flask) -> None:
    app.jinja_env.globals["campaign_status_labels"] = CAMPAIGN_STATUS_LABELS
    # What a campaign waits for while its start, resume, stop or re-plan runs as a job.
    app.jinja_env.globals["campaign_pending_labels"] = DOING
    app.jinja_env.globals["message_status_labels"] = MESSAGE_STATUS_LABELS
    app.jinja_env.globals["message_reason_labels"] = MESSAGE_REASON_LABELS
