"""The send-time guard: a mail claimed for sending is checked once more, against what
happened to its lead and company since it was planned, before anything reaches SMTP.

Each test plans (writes) a due mail, lets the dispatcher claim it, changes the world the
way a person, the inbox or another campaign would, and runs the real send job against a
real SMTP server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.factories import make_campaign, make_event, make_lead, make_message
from tests.sending_support import make_domain, make_running_campaign
from tests.support.services import SmtpCapture
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import (
    Campaign,
    CancelReason,
    Lead,
    Message,
    MessageEvent,
    SuppressionReason,
)
from webapp.services.leads import add_suppression, suppress_lead
from webapp.services.sending.dispatch import dispatch_once
from webapp.services.sending.send import send_claimed_message

PLANNED_AGO = timedelta(days=3)


@pytest.fixture
def smtp_app(app: Flask, smtp_server: SmtpCapture) -> Iterator[Flask]:
    app.config["MAIL_BACKEND"] = "smtp"
    yield app
    app.config["MAIL_BACKEND"] = "outbox"


def planned_mail(smtp_server: SmtpCapture, **campaign: object) -> tuple[Campaign, Lead, Message]:
    """One due first mail to one lead, planned three days ago."""
    domain = make_domain("punthelder-seo.nl", smtp_server.port)
    made, (lead,), (message,) = make_running_campaign([domain], leads=1, **campaign)
    message.created_at = utcnow() - PLANNED_AGO
    db.session.commit()
    return made, lead, message


def claim(message: Message) -> tuple[str, str]:
    (claimed,) = dispatch_once(utcnow(), enqueue=False).claimed
    assert claimed[0] == message.id
    return claimed


def other_campaign_mail(lead: Lead, sent_ago: timedelta, **campaign: object) -> Message:
    """A mail another campaign sent to `lead` `sent_ago` before now."""
    other = make_campaign(status="running", **campaign)
    sent_at = utcnow() - sent_ago
    return make_message(other, lead, status="sent", sent_at=sent_at, send_started_at=sent_at)


def colleague_of(lead: Lead) -> Lead:
    return make_lead(email=f"verkoop@{lead.domain}", domain=lead.domain, company=lead.company)


def suppress_address(lead: Lead) -> None:
    add_suppression(email=lead.email, reason=SuppressionReason.UNSUBSCRIBED)


def suppress_domain(lead: Lead) -> None:
    add_suppression(domain=lead.domain, reason=SuppressionReason.MANUAL)


def suppress_mail_domain(lead: Lead) -> None:
    # The company's website is elsewhere; the address's own domain is the one suppressed.
    lead.domain = "elders-gevestigd.nl"
    add_suppression(domain=lead.email.rpartition("@")[2], reason=SuppressionReason.COMPLAINT)


def stop(lead: Lead) -> None:
    lead.stopped = True


def delete(lead: Lead) -> None:
    lead.deleted_at = utcnow()


def bounce(lead: Lead) -> None:
    # Another mail to the same address bounced hard (the inbox or another send job).
    suppress_lead(lead, SuppressionReason.HARD_BOUNCE, note="550 5.1.1 mailbox unknown")


def company_replies(lead: Lead) -> None:
    colleague = colleague_of(lead)
    # Mailed before this mail was planned; the reply came after.
    elsewhere = other_campaign_mail(colleague, PLANNED_AGO * 2, stop_company_on_reply=True)
    make_event(elsewhere, "replied", created_at=utcnow() - timedelta(hours=1))


def other_campaign_mails_lead(lead: Lead) -> None:
    other_campaign_mail(lead, timedelta(days=1))


def other_campaign_mails_company(lead: Lead) -> None:
    other_campaign_mail(colleague_of(lead), timedelta(days=1))


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (suppress_address, CancelReason.ADDRESS_SUPPRESSED),
        (suppress_domain, CancelReason.DOMAIN_SUPPRESSED),
        (suppress_mail_domain, CancelReason.DOMAIN_SUPPRESSED),
        (stop, CancelReason.LEAD_STOPPED),
        (delete, CancelReason.LEAD_DELETED),
        (bounce, CancelReason.LEAD_BOUNCED),
        (company_replies, CancelReason.COMPANY_REPLIED),
        (other_campaign_mails_lead, CancelReason.LEAD_MAILED_ELSEWHERE),
        (other_campaign_mails_company, CancelReason.COMPANY_MAILED_ELSEWHERE),
    ],
    ids=lambda value: getattr(value, "__name__", str(value)),
)
def test_a_mail_failing_the_guard_is_canceled_with_the_reason_and_never_sent(
    smtp_app: Flask,
    smtp_server: SmtpCapture,
    change: Callable[[Lead], None],
    reason: CancelReason,
) -> None:
    _campaign, lead, message = planned_mail(smtp_server)
    claimed = claim(message)
    # Between planning (and the claim) and the send: the mail is in flight, so whatever
    # cancels queued mail at the moment of the change does not reach it.
    change(db.session.get(Lead, lead.id))
    db.session.commit()

    assert send_claimed_message(*claimed) == "canceled"

    db.session.expire_all()
    canceled = db.session.get(Message, message.id)
    assert canceled is not None
    assert (canceled.status, canceled.last_error) == ("canceled", reason)
    assert canceled.sent_at is None and canceled.send_started_at is None
    event = db.session.execute(
        sa.select(MessageEvent).where(MessageEvent.message_id == message.id)
    ).scalar_one()
    assert (event.event_type, event.meta) == ("canceled", {"reason": reason.value})
    assert smtp_server.messages == []


def test_a_lead_suppressed_between_planning_and_sending_is_never_mailed(
    smtp_app: Flask, smtp_server: SmtpCapture
) -> None:
    _campaign, lead, message = planned_mail(smtp_server)
    claimed = claim(message)
    suppress_address(db.session.get(Lead, lead.id))
    db.session.commit()
    assert send_claimed_message(*claimed) == "canceled"
    assert dispatch_once(utcnow(), enqueue=False).claimed == []  # nothing comes back
    assert db.session.get(Message, message.id).last_error == "address suppressed"  # type: ignore[union-attr]
    assert smtp_server.messages == []


def earlier_other_campaign_mail_to_company(lead: Lead) -> None:
    # Before this mail was planned: the planner (and the audience) saw it already.
    other_campaign_mail(colleague_of(lead), PLANNED_AGO + timedelta(days=1))


def other_campaign_mail_to_company_long_ago(lead: Lead) -> None:
    # After planning, but more than the 14 days ago of the campaign's audience setting.
    db.session.execute(
        sa.update(Message)
        .where(Message.lead_id == lead.id)
        .values(created_at=utcnow() - timedelta(days=30))
    )
    other_campaign_mail(colleague_of(lead), timedelta(days=15))


def free_mail_neighbour_mailed(lead: Lead) -> None:
    # gmail.com is people, not one company: another person there is nobody's colleague.
    lead.email, lead.domain = "jan.jansen@gmail.com", "gmail.com"
    other_campaign_mail(
        make_lead(email="piet.pietersen@gmail.com", domain="gmail.com"), timedelta(hours=2)
    )


def reply_in_a_campaign_that_stops_only_the_lead(lead: Lead) -> None:
    colleague = colleague_of(lead)
    elsewhere = other_campaign_mail(colleague, PLANNED_AGO * 2, stop_company_on_reply=False)
    make_event(elsewhere, "replied", created_at=utcnow() - timedelta(hours=1))


def other_campaign_mail_still_queued(lead: Lead) -> None:
    # Planned by another campaign, not sent yet: nothing has reached the lead.
    other = make_campaign(status="running")
    make_message(other, lead, status="queued", scheduled_at=utcnow() + timedelta(hours=1))


def nothing_happened(lead: Lead) -> None:
    pass


@pytest.mark.parametrize(
    "change",
    [
        nothing_happened,
        earlier_other_campaign_mail_to_company,
        other_campaign_mail_to_company_long_ago,
        free_mail_neighbour_mailed,
        reply_in_a_campaign_that_stops_only_the_lead,
        other_campaign_mail_still_queued,
    ],
    ids=lambda value: value.__name__,
)
def test_a_mail_passing_every_rule_is_sent(
    smtp_app: Flask, smtp_server: SmtpCapture, change: Callable[[Lead], None]
) -> None:
    _campaign, lead, message = planned_mail(smtp_server)
    change(db.session.get(Lead, lead.id))
    db.session.commit()
    claimed = claim(message)

    assert send_claimed_message(*claimed) == "sent"

    (received,) = smtp_server.wait_for(1)
    assert received.rcpt_tos == [db.session.get(Lead, lead.id).email]  # type: ignore[union-attr]
    db.session.expire_all()
    assert db.session.get(Message, message.id).last_error is None  # type: ignore[union-attr]


def test_a_campaign_without_the_recent_rule_ignores_other_campaigns_mail(
    smtp_app: Flask, smtp_server: SmtpCapture
) -> None:
    campaign, lead, message = planned_mail(smtp_server)
    campaign.audience.exclude_recent_days = None
    other_campaign_mails_company(lead)
    db.session.commit()
    assert send_claimed_message(*claim(message)) == "sent"
