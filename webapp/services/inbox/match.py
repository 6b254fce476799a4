"""Find the message we sent that an inbound mail answers, bounces or unsubscribes from."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Campaign, Lead, Message, MessageStatus, SendingDomain, TemplateStep
from webapp.services.inbox import classify as kinds
from webapp.services.inbox.classify import Classified, has_reply_prefix, strip_reply_prefixes
from webapp.services.mail import (
    RenderError,
    lead_context,
    render_subject,
    spin_seed,
    step_for_variant,
)
from webapp.services.sending import display_name, first_variant
from webapp.services.tracking import message_id_from_unsubscribe_subject

SENT_STATUSES = (MessageStatus.SENT, MessageStatus.OPENED, MessageStatus.BOUNCED)


@dataclass(frozen=True)
class Match:
    message: Message
    matched_by: str
    recipient: str | None = None


def match_message(mail: Classified, domain: SendingDomain) -> Match | None:
    """The original message for the mail, or None when it is not about one of ours."""
    if mail.kind == kinds.UNSUBSCRIBE:
        return _unsubscribe_match(mail, domain)
    if mail.kind == kinds.BOUNCE:
        return _bounce_match(mail, domain)
    found = _by_thread(mail.thread_ids)
    if found is not None:
        return found
    if mail.kind == kinds.AUTO_REPLY:
        return _by_sender(mail, domain, lenient=True)
    if has_reply_prefix(mail.subject):
        return _by_sender(mail, domain, lenient=False)
    return None


def _by_thread(thread_ids: tuple[str, ...]) -> Match | None:
    """The newest of our messages named by In-Reply-To, else by References."""
    if not thread_ids:
        return None
    messages = {
        m.smtp_message_id: m
        for m in db.session.scalars(
            sa.select(Message).where(Message.smtp_message_id.in_(thread_ids))
        )
    }
    for position, key in enumerate(thread_ids):
        if key in messages:
            return Match(messages[key], "in_reply_to" if position == 0 else "references")
    return None


def _by_campaign_ids(ids: tuple[str, ...]) -> Message | None:
    if not ids:
        return None
    return db.session.scalars(
        sa.select(Message)
        .where(sa.or_(Message.x_campaign_message_id.in_(ids), Message.id.in_(ids)))
        .limit(1)
    ).first()


def _bounce_match(mail: Classified, domain: SendingDomain) -> Match | None:
    bounce = mail.bounce
    assert bounce is not None
    recipient = bounce.recipients[0] if bounce.recipients else None
    message = _by_campaign_ids(mail.returned_campaign_ids)
    if message is not None:
        return Match(message, "x_campaign_message_id", recipient)
    found = _by_thread(mail.returned_message_ids) or _by_thread(mail.thread_ids)
    if found is not None:
        return Match(found.message, "returned_message_id", recipient)
    for address in bounce.recipients:
        message = _latest_sent_to(address, domain.name) or _latest_sent_to(address, None)
        if message is not None:
            return Match(message, "failed_recipient", address)
    return None


def _unsubscribe_match(mail: Classified, domain: SendingDomain) -> Match | None:
    message_id = message_id_from_unsubscribe_subject(mail.subject)
    if message_id is not None:
        message = db.session.get(Message, message_id)
        if message is not None:
            return Match(message, "unsubscribe_token")
    # Typed by hand: the sender must be a lead we mailed from this domain.
    message = _latest_sent_to(mail.from_address, domain.name)
    return Match(message, "sender") if message is not None else None


def _latest_sent_to(address: str, domain_name: str | None) -> Message | None:
    """Our newest sent message to this address (from this domain when one is given)."""
    query = (
        sa.select(Message)
        .join(Lead, Lead.id == Message.lead_id)
        .where(Lead.email == address.strip().lower(), Message.status.in_(SENT_STATUSES))
        .order_by(Message.sent_at.desc().nulls_last(), Message.mail_number.desc())
        .limit(1)
    )
    if domain_name is not None:
        query = query.where(Message.domain_used == domain_name)
    return db.session.scalars(query).first()


def _by_sender(mail: Classified, domain: SendingDomain, lenient: bool) -> Match | None:
    """A client that dropped In-Reply-To: the lead's address and the subject we sent.

    A reply must carry `Re: <our subject>`; an auto-reply only has to mention it, or,
    being harmless to record, merely come from a lead we mailed from this domain.
    """
    sent = list(
        db.session.scalars(
            sa.select(Message)
            .join(Lead, Lead.id == Message.lead_id)
            .where(
                Lead.email == mail.from_address,
                Message.domain_used == domain.name,
                Message.status.in_(SENT_STATUSES),
            )
            .order_by(Message.sent_at.desc().nulls_last(), Message.mail_number.desc())
        )
    )
    wanted = strip_reply_prefixes(mail.subject)
    for message in sent:
        subject = strip_reply_prefixes(sent_subject(message, domain))
        if subject and (wanted == subject or (lenient and subject in wanted)):
            return Match(message, "sender_and_subject")
    if lenient and sent:
        return Match(sent[0], "sender")
    return None


def sent_subject(message: Message, domain: SendingDomain) -> str:
    """The subject the message went out with: as kept when it was sent, else (mail sent
    before subjects were kept) rendered again ("" when it cannot be)."""
    if message.subject:
        return message.subject
    campaign = db.session.get(Campaign, message.campaign_id)
    lead = db.session.get(Lead, message.lead_id)
    if campaign is None or lead is None:
        return ""
    steps: dict[int, TemplateStep] = {s.mail_number: s for s in campaign.template.steps}
    if message.mail_number not in steps:
        return ""
    # The version the lead got: the message's variant, and mail 1's for a `Re:` subject.
    step = step_for_variant(steps[message.mail_number], message.variant)
    context = lead_context(lead)
    context.update(sender=display_name(domain, message.alias), unsubscribe_url="", tracking=None)
    try:
        if step.subject.strip():
            return render_subject(step.subject, context, spin_seed(lead.id, step.mail_number))
        if 1 in steps:
            first = step_for_variant(steps[1], first_variant(message))
            return render_subject(first.subject, context, spin_seed(lead.id, 1))
    except RenderError:
        return ""
    return ""
