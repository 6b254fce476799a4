"""The stored values of leads and suppressions as people read them, in their language.

Pages show these labels; data-* attributes and CSS classes keep the raw values.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from webapp.web.labels import EVENT_LABELS, MESSAGE_STATUS_LABELS

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


def labels() -> dict[str, dict[str, object]]:
    """The label dictionaries, for the templates of the lead and suppression pages."""
    return {
        "lead_status_labels": LEAD_STATUS_LABELS,
        "suppression_reason_labels": SUPPRESSION_REASON_LABELS,
        "import_status_labels": IMPORT_STATUS_LABELS,
        "message_status_labels": MESSAGE_STATUS_LABELS,
        "event_labels": EVENT_LABELS,
    }
