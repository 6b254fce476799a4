"""Sending: the dispatcher, the send job, SMTP, the outbox and operator decisions.

What other areas and the web layer may use; the modules inside are the area's own.
"""

from __future__ import annotations

from webapp.services.sending.connection_check import (
    CHECK_TIMEOUT_SECONDS,
    CONNECT,
    FOLDER,
    LOGIN,
    TLS,
    CheckStep,
    ConnectionReport,
    check_smtp_connection,
    connection_problem,
    decoded,
    timed_out,
    tls_problem,
)
from webapp.services.sending.dispatch import (
    DispatchResult,
    complete_finished_campaigns,
    dispatch_once,
)
from webapp.services.sending.domain_health import check_domain_health
from webapp.services.sending.mail_to_self import SentTestMail, send_test_mail
from webapp.services.sending.mailer import display_name, first_variant
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
    "CHECK_TIMEOUT_SECONDS",
    "CONNECT",
    "DECISIONS",
    "FOLDER",
    "LOGIN",
    "TLS",
    "CheckStep",
    "ConnectionReport",
    "Decision",
    "DispatchResult",
    "MessageConflict",
    "SentTestMail",
    "check_domain_health",
    "check_smtp_connection",
    "complete_finished_campaigns",
    "connection_problem",
    "decide_uncertain",
    "decoded",
    "dispatch_once",
    "display_name",
    "first_variant",
    "list_outbox",
    "outbox_attachment",
    "read_outbox_mail",
    "resend_message",
    "send_claimed_message",
    "send_test_mail",
    "timed_out",
    "tls_problem",
]
