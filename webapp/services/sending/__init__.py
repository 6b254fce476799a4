"""Sending: the dispatcher, the send job, SMTP, the outbox and operator decisions.

What other areas and the web layer may use; the modules inside are the area's own.
"""

from __future__ import annotations

from webapp.services.sending.dispatch import (
    DispatchResult,
    complete_finished_campaigns,
    dispatch_once,
)
from webapp.services.sending.domain_health import check_domain_health
from webapp.services.sending.mailer import display_name
from webapp.services.sending.operator import (
    DECISIONS,
    Decision,
    MessageConflict,
    decide_uncertain,
    resend_message,
)
from webapp.services.sending.outbox import (
    list_outbox,
    outbox_attachment,
    read_outbox_mail,
)
from webapp.services.sending.send import send_claimed_message

__all__ = [
    "DECISIONS",
    "Decision",
    "DispatchResult",
    "MessageConflict",
    "check_domain_health",
    "complete_finished_campaigns",
    "decide_uncertain",
    "dispatch_once",
    "display_name",
    "list_outbox",
    "outbox_attachment",
    "read_outbox_mail",
    "resend_message",
    "send_claimed_message",
]
