"""A test mail to oneself: one step of a template, rendered for a chosen lead, sent from a
chosen domain and alias to the person asking, marked as a test; for a step with variants,
as the variant asked for (else the step's own texts).

It takes the real sender's path (`mailer.render_for_lead` in the sandbox, the same headers,
`wire_bytes` with the domain's DKIM signature, the same SMTP or outbox delivery), with three
differences that keep it out of every figure and away from the lead:
- it is never tracked: no pixel, links as written (a tracking URL pasted into the template
  is undone as in the preview), and the unsubscribe link and List-Unsubscribe header are
  the preview's stand-in (`PREVIEW_UNSUBSCRIBE_URL`, on the reserved .invalid domain) and a
  mailto without a token, so following them can never suppress the lead;
- it is never counted: no message row, no event, no `last_emailed_at`, no pace gate;
- it says it is a test: the subject starts with "[TEST] " in the person's language, and the
  header `X-Campaigns-Test: 1`. It is recorded in the audit trail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from webapp.database import new_id
from webapp.extensions import db
from webapp.models import Lead, SendingDomain, Template
from webapp.services import tracking
from webapp.services.audit import AuditAction, record_action
from webapp.services.errors import InvalidInput
from webapp.services.mail import PREVIEW_UNSUBSCRIBE_URL, RenderError, variants_of
from webapp.services.sending import transport
from webapp.services.sending.mailer import (
    display_name,
    new_message_id,
    render_for_lead,
    wire_bytes,
)

log = logging.getLogger("webapp.sending")

TEST_HEADER = "X-Campaigns-Test"


@dataclass(frozen=True)
class SentTestMail:
    """Where the test mail went and the subject it carried."""

    to: str
    subject: str


@dataclass(frozen=True)
class _Choice:
    lead: Lead
    mail_number: int
    domain: SendingDomain
    alias: str
    variant: str | None = None


def send_test_mail(
    template: Template,
    values: dict[str, Any],
    *,
    recipient: str,
    user_id: str | None,
    now: datetime,
) -> SentTestMail:
    """Send mail `mail_number` of the template (as `variant`, if given), as `lead_id` would
    get it from `domain` (and `alias`, else the domain's first), to `recipient`;
    InvalidInput names what is wrong."""
    choice = _choose(template, values)
    raw, sender, subject = _build(template, choice, recipient, now)
    delivery = _deliver(transport.SmtpServer.of(choice.domain), raw, sender, recipient)
    if delivery.kind != transport.SENT:
        log.info("test mail from %s not taken: %s", choice.domain.name, delivery.kind)
        reason = _("the mail server did not take the test mail: %(detail)s", detail=delivery.detail)
        raise InvalidInput({"domain": reason}, reason)
    record_action(
        AuditAction.TEMPLATE_TEST_MAIL,
        "template",
        template.id,
        user_id,
        {
            "lead_id": choice.lead.id,
            "mail_number": choice.mail_number,
            "domain": choice.domain.name,
            "alias": choice.alias,
            "recipient": recipient,
            **({"variant": choice.variant} if choice.variant else {}),
        },
    )
    log.info("test mail of template %s sent from %s", template.id, choice.domain.name)
    return SentTestMail(recipient, subject)


def _choose(template: Template, values: dict[str, Any]) -> _Choice:
    """The lead, step, domain and alias asked for, or InvalidInput naming each bad one."""
    fields: dict[str, str] = {}
    lead_id = values.get("lead_id")
    lead = db.session.get(Lead, lead_id) if isinstance(lead_id, str) and lead_id else None
    if not lead_id:
        fields["lead_id"] = _("choose a lead: a test mail shows what one real lead receives")
    elif lead is None or lead.deleted_at is not None:
        fields["lead_id"] = _("no lead with this id")
    mail_number = _whole_number(values.get("mail_number"))
    numbers = {step.mail_number for step in template.steps}
    if mail_number not in numbers:
        fields["mail_number"] = _(
            "the template has no mail %(number)s", number=values.get("mail_number")
        )
    variant = _variant(template, mail_number, values.get("variant"), fields)
    name = values.get("domain")
    domain = None
    if isinstance(name, str) and name.strip():
        domain = db.session.execute(
            sa.select(SendingDomain).where(SendingDomain.name == name.strip().lower())
        ).scalar_one_or_none()
    alias = values.get("alias")
    if domain is None:
        fields["domain"] = _("no sending domain with this name")
    elif current_app.config.get("MAIL_BACKEND") == "smtp" and not domain.smtp_host:
        fields["domain"] = _("this domain has no SMTP server set")
    elif current_app.config.get("MAIL_BACKEND") == "smtp" and domain.paused:
        # A paused domain (by hand, or for bounces) sends nothing through its account.
        fields["domain"] = _("this domain is paused")
    elif alias in (None, ""):
        alias = _aliases(domain)[0] if _aliases(domain) else None
        if alias is None:
            fields["alias"] = _("this domain has no alias to send from")
    elif not isinstance(alias, str) or alias.strip().lower() not in _aliases(domain):
        fields["alias"] = _("not an alias of this domain")
    if fields:
        raise InvalidInput(fields, _("the test mail cannot be sent"))
    assert lead is not None and domain is not None and isinstance(alias, str)
    assert mail_number is not None
    return _Choice(lead, mail_number, domain, alias.strip().lower(), variant)


def _variant(
    template: Template, mail_number: int | None, raw: Any, fields: dict[str, str]
) -> str | None:
    """The variant asked for, if any: one the step has (an error under `variant` if not)."""
    if raw is None or raw == "":
        return None
    step = next((s for s in template.steps if s.mail_number == mail_number), None)
    if step is None:
        return None  # the step itself is the error, already named
    keys = [variant.key for variant in variants_of(step.variants)]
    if not keys:
        fields["variant"] = _("this mail has no variants")
    elif raw not in keys:
        fields["variant"] = _("one of %(keys)s", keys=", ".join(keys))
    else:
        return str(raw)
    return None


def _aliases(domain: SendingDomain) -> list[str]:
    return [str(entry.get("alias")) for entry in domain.aliases if entry.get("alias")]


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def _build(
    template: Template, choice: _Choice, recipient: str, now: datetime
) -> tuple[bytes, str, str]:
    """The raw mail (signed as a real send is), its envelope sender and its subject."""
    domain = choice.domain
    steps = {step.mail_number: step for step in template.steps}
    sender_name = display_name(domain, choice.alias)
    from_email = f"{choice.alias}@{domain.name}"
    try:
        rendered = render_for_lead(
            steps,
            choice.mail_number,
            choice.lead,
            sender_name,
            PREVIEW_UNSUBSCRIBE_URL,
            variant=choice.variant,
        )
    except RenderError as error:
        if error.missing:
            fields = dict.fromkeys(error.missing, _("missing or empty for this lead"))
        else:
            fields = {"template": error.message}
        raise InvalidInput(fields, error.message) from None
    marker = _("[TEST]")  # in the language of the person asking
    subject = f"{marker} {rendered.subject}"
    mail = EmailMessage()
    mail["From"] = formataddr((sender_name, from_email))
    mail["To"] = recipient
    mail["Reply-To"] = from_email
    mail["Subject"] = subject
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = new_message_id(domain)
    mail[TEST_HEADER] = "1"
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    mail.set_content(tracking.untracked_text(rendered.text))
    mail.add_alternative(tracking.untracked_html(rendered.html), subtype="html")
    mailto = f"mailto:unsubscribe@{domain.name}?subject=test"
    return wire_bytes(mail, domain, PREVIEW_UNSUBSCRIBE_URL, mailto), from_email, subject


def _deliver(
    server: transport.SmtpServer, raw: bytes, sender: str, recipient: str
) -> transport.Delivery:
    if current_app.config.get("MAIL_BACKEND") == "smtp":
        return transport.deliver_smtp(server, raw, sender, recipient)
    # The outbox names each mail by a 32-character id; a test mail has no message, so a new one.
    return transport.deliver_outbox(current_app.config["OUTBOX_DIR"], raw, new_id())
