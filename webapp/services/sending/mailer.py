"""Building the exact mail one message becomes: parts, headers, threading, report, DKIM."""

from __future__ import annotations

import email.policy
import mimetypes
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from webapp.extensions import db
from webapp.models import Campaign, Lead, Message, MessageStatus, SendingDomain, TemplateStep
from webapp.services import tracking
from webapp.services.mail import (
    RenderedMail,
    StepSource,
    lead_context,
    render_budget,
    render_step,
    render_subject,
    spin_seed,
    step_for_variant,
)

SENT_STATUSES = (MessageStatus.SENT, MessageStatus.OPENED)
# SMTP wants CRLF line ends; smtplib sends bytes as they are.
WIRE_POLICY = email.policy.default.clone(linesep="\r\n")


@dataclass(frozen=True)
class BuiltMail:
    """A mail ready for the wire: its bytes, envelope, and whether the report went along."""

    raw: bytes
    sender: str
    recipient: str
    subject: str
    with_report: bool


def new_message_id(domain: SendingDomain) -> str:
    """A Message-ID on the sending domain, made (and stored) before the mail is sent."""
    return make_msgid(domain=domain.name)


def display_name(domain: SendingDomain, alias: str) -> str:
    for entry in domain.aliases:
        if entry.get("alias") == alias:
            return str(entry.get("display_name") or alias)
    return alias.capitalize()


def build_mail(
    message: Message, campaign: Campaign, lead: Lead, domain: SendingDomain, now: datetime
) -> BuiltMail:
    """Render the step for the lead and wrap it in the headers docs/rules.md asks for.

    Raises rendering.RenderError when the step cannot be rendered for this lead.
    """
    steps = {step.mail_number: step for step in campaign.template.steps}
    sender_name = display_name(domain, message.alias)
    from_email = message.from_email or f"{message.alias}@{domain.name}"
    # Mail from a domain with its own tracking host tracks on that host (docs/rules.md).
    host = domain.tracking_host
    unsubscribe_url = tracking.unsubscribe_url(message.id, host)
    rendered = render_for_lead(
        steps,
        message.mail_number,
        lead,
        sender_name,
        unsubscribe_url,
        variant=message.variant,
        first_variant=first_variant(message),
        first_subject=first_sent_subject(message),
    )
    html = rendered.html
    if campaign.track_clicks:
        html = tracking.rewrite_links(html, message.id, host)
    if campaign.track_opens:
        html = _append_pixel(html, tracking.pixel_tag(message.id, host))

    mail = EmailMessage()
    mail["From"] = formataddr((sender_name, from_email))
    mail["To"] = lead.email
    mail["Reply-To"] = message.reply_to_email or from_email
    mail["Subject"] = rendered.subject
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = message.smtp_message_id
    mail["X-Campaign-Message-ID"] = message.x_campaign_message_id or message.id
    mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    earlier = _earlier_message_ids(message)
    if earlier:
        mail["In-Reply-To"] = earlier[-1]
        mail["References"] = " ".join(earlier)
    mail.set_content(rendered.text)
    mail.add_alternative(html, subtype="html")

    with_report = False
    if campaign.followup_attach_report and message.mail_number > 1:
        report = report_path(lead)
        if report is not None:
            _attach(mail, report)
            with_report = True

    mailto = tracking.unsubscribe_mailto(domain.name, message.id)
    raw = wire_bytes(mail, domain, unsubscribe_url, mailto)
    return BuiltMail(raw, from_email, lead.email, rendered.subject, with_report)


def render_for_lead(
    steps: dict[int, TemplateStep],
    mail_number: int,
    lead: Lead,
    sender_name: str,
    unsubscribe_url: str,
    *,
    variant: str | None = None,
    first_variant: str | None = None,
    first_subject: str | None = None,
) -> RenderedMail:
    """Mail `mail_number` for the lead in the sandbox, as the message's `variant`; a follow-up
    without a subject of its own gets `Re: <mail 1 subject>` as the lead received it (mail 1's
    `first_variant`), or of `first_subject`, the subject mail 1 went out with when it did. The
    real send and the test mail both come here."""
    step = step_for_variant(steps[mail_number], variant)
    with render_budget():  # the fallback subject and the parts share the mail's time limit
        if first_subject and mail_number > 1 and not step.subject.strip():
            fallback: str | None = f"Re: {first_subject}"
        else:
            fallback = _reply_subject(
                steps, step, lead, sender_name, unsubscribe_url, first_variant
            )
        return render_step(
            step,
            lead,
            sender=sender_name,
            unsubscribe_url=unsubscribe_url,
            subject_fallback=fallback,
        )


def first_sent_subject(message: Message) -> str | None:
    """The subject the lead's mail 1 went out with, for a follow-up (None: not sent yet, or
    sent before subjects were kept)."""
    if message.mail_number == 1:
        return None
    return db.session.scalar(
        sa.select(Message.subject).where(
            Message.campaign_id == message.campaign_id,
            Message.lead_id == message.lead_id,
            Message.mail_number == 1,
        )
    )


def first_variant(message: Message) -> str | None:
    """The variant of mail 1 the lead of a follow-up got (None: no experiment there)."""
    if message.mail_number == 1:
        return message.variant
    return db.session.scalar(
        sa.select(Message.variant).where(
            Message.campaign_id == message.campaign_id,
            Message.lead_id == message.lead_id,
            Message.mail_number == 1,
        )
    )


def wire_bytes(
    mail: EmailMessage, domain: SendingDomain, unsubscribe_url: str, mailto: str
) -> bytes:
    """The mail as sent: CRLF bytes, List-Unsubscribe as written, DKIM-signed when the
    domain has a key."""
    raw = _with_raw_header(
        mail.as_bytes(policy=WIRE_POLICY),
        "List-Unsubscribe",
        [f"<{unsubscribe_url}>,", f"<{mailto}>"],
    )
    if domain.dkim_selector and domain.dkim_private_key:
        raw = dkim_sign(raw, domain)
    return raw


def _with_raw_header(raw: bytes, name: str, parts: list[str]) -> bytes:
    """Add a header folded between `parts`, exactly as written.

    The email package would turn a long URL into RFC 2047 encoded words, which mail
    clients then fail to read as a List-Unsubscribe link.
    """
    line = f"{name}: " + "\r\n ".join(parts) + "\r\n"
    return line.encode("ascii") + raw


def _reply_subject(
    steps: dict[int, TemplateStep],
    step: StepSource,
    lead: Lead,
    sender_name: str,
    unsubscribe_url: str,
    first_variant: str | None,
) -> str | None:
    """`Re: <mail 1 subject>` for a follow-up whose step (as its variant has it) has no
    subject of its own: mail 1 as this lead got it, variant and spintax version."""
    if step.mail_number == 1 or step.subject.strip() or 1 not in steps:
        return None
    context = lead_context(lead)
    context.update(sender=sender_name, unsubscribe_url=unsubscribe_url, tracking=None)
    first = step_for_variant(steps[1], first_variant)
    return f"Re: {render_subject(first.subject, context, spin_seed(lead.id, 1))}"


def _earlier_message_ids(message: Message) -> list[str]:
    """Message-IDs of the lead's earlier mails in this campaign that went out, oldest first."""
    if message.mail_number == 1:
        return []
    found = list(
        db.session.execute(
            sa.select(Message.smtp_message_id)
            .where(
                Message.campaign_id == message.campaign_id,
                Message.lead_id == message.lead_id,
                Message.mail_number < message.mail_number,
                Message.status.in_(SENT_STATUSES),
                Message.smtp_message_id.is_not(None),
            )
            .order_by(Message.mail_number)
        ).scalars()
    )
    return [message_id for message_id in found if message_id is not None]  # where() has none


def _append_pixel(html: str, pixel: str) -> str:
    closing = html.lower().rfind("</body>")
    if closing == -1:
        return f"{html}\n{pixel}"
    return f"{html[:closing]}{pixel}{html[closing:]}"


def report_path(lead: Lead) -> Path | None:
    """The lead's report: `<REPORTS_DIR>/<company domain>.pdf`, when it exists."""
    if not lead.domain:
        return None
    folder = Path(current_app.config["REPORTS_DIR"])
    path = folder / f"{lead.domain}.pdf"
    # The domain comes from data: never let it walk out of the reports folder.
    if path.resolve().parent != folder.resolve() or not path.is_file():
        return None
    return path


def _attach(mail: EmailMessage, path: Path) -> None:
    kind, _ = mimetypes.guess_type(path.name)
    maintype, subtype = (kind or "application/octet-stream").split("/", 1)
    mail.add_attachment(path.read_bytes(), maintype=maintype, subtype=subtype, filename=path.name)


def dkim_sign(raw: bytes, domain: SendingDomain) -> bytes:
    """Prepend a DKIM-Signature made with the domain's key."""
    import dkim

    signature: bytes = dkim.sign(
        raw,
        selector=(domain.dkim_selector or "").encode(),
        domain=domain.name.encode(),
        privkey=(domain.dkim_private_key or "").encode(),
        include_headers=[
            b"from",
            b"to",
            b"subject",
            b"date",
            b"message-id",
            b"reply-to",
            b"list-unsubscribe",
            b"list-unsubscribe-post",
            b"in-reply-to",
            b"references",
        ],
    )
    return signature + raw
