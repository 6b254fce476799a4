"""Status values as people read them, in the reader's language.

Pages show a status through these labels; data-* attributes and CSS classes keep the raw
value. Registered as Jinja globals (`campaign_status_labels`, `message_status_labels`), so
imported macros can use them too: `{{ campaign_status_labels.get(status, status) }}`.
"""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

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


def init_labels(app: Flask) -> None:
    app.jinja_env.globals["campaign_status_labels"] = CAMPAIGN_STATUS_LABELS
    app.jinja_env.globals["message_status_labels"] = MESSAGE_STATUS_LABELS
