"""The stored values of leads and suppressions as people read them, in their language.

Pages show these labels; data-* attributes and CSS classes keep the raw values.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

LEAD_STATUS_LABELS = {
    "active": _l("active"),
    "suppressed": _l("suppressed"),
    "bounced": _l("bounced"),
}
SUPPRESSION_REASON_LABELS = {
    "manual": _l("manual"),
    "unsubscribed": _l("unsubscribed"),
    "complaint": _l("complaint"),
    "hard_bounce": _l("hard bounce"),
}
IMPORT_STATUS_LABELS = {
    "pending": _l("waiting"),
    "running": _l("importing"),
    "done": _l("done"),
    "failed": _l("failed"),
}
MESSAGE_STATUS_LABELS = {
    "queued": _l("queued"),
    "sending": _l("sending"),
    "sent": _l("sent"),
    "opened": _l("opened"),
    "bounced": _l("bounced"),
    "failed": _l("failed"),
    "canceled": _l("canceled"),
    "uncertain": _l("uncertain"),
}
EVENT_LABELS = {
    "sent": _l("sent"),
    "opened": _l("opened"),
    "clicked": _l("clicked"),
    "replied": _l("replied"),
    "auto_replied": _l("auto-reply"),
    "bounced": _l("bounced"),
    "soft_bounce": _l("soft bounce"),
    "deferred": _l("deferred"),
    "failed": _l("failed"),
    "uncertain": _l("uncertain"),
    "unsubscribed": _l("unsubscribed"),
    "canceled": _l("canceled"),
    "resent": _l("resent"),
}


def labels() -> dict[str, dict[str, object]]:
    """The label dictionaries, for the templates of the lead and suppression pages."""
    return {
        "lead_status_labels": LEAD_STATUS_LABELS,
        "suppression_reason_labels": SUPPRESSION_REASON_LABELS,
        "import_status_labels": IMPORT_STATUS_LABELS,
        "message_status_labels": MESSAGE_STATUS_LABELS,
        "event_labels": EVENT_LABELS,
    }
