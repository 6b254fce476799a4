"""The inbox poller against a real Dovecot: replies, auto-replies, bounces, unsubscribes."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.factories import make_lead, make_message
from tests.sending_support import make_running_campaign
from tests.services import inbox_fixtures
from tests.services.inbox_fixtures import Mailbox, mark_sent, sent_campaign
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Lead, Message, MessageEvent, SendingDomain, Suppression
from webapp.services.inbox.poller import poll_inbox_once

# The real IMAP server (one per module) and a fresh folder per test.
dovecot = inbox_fixtures.dovecot
mailbox = inbox_fixtures.mailbox


def poll() -> dict[str, Any]:
    summary = poll_inbox_once(utcnow())
    db.session.commit()
    db.session.expire_all()
    return summary


def events(message: Message, event_type: str | None = None) -> list[MessageEvent]:
    query = sa.select(MessageEvent).where(MessageEvent.message_id == message.id)
    if event_type:
        query = query.where(MessageEvent.event_type == event_type)
    return list(db.session.scalars(query.order_by(MessageEvent.created_at)))


def snapshot() -> tuple[Any, ...]:
    """Everything the poller could change, to show that a second pass changes nothing."""
    return (
        sorted((e.message_id, e.event_type) for e in db.session.scalars(sa.select(MessageEvent))),
        sorted((m.id, m.status) for m in db.session.scalars(sa.select(Message))),
        sorted((lead.id, lead.status) for lead in db.session.scalars(sa.select(Lead))),
        sorted((s.email or "", s.reason) for s in db.session.scalars(sa.select(Suppression))),
    )


def poll_twice(box: Mailbox) -> dict[str, Any]:
    """Poll; a second poll finds nothing new and changes nothing; the mail stays unread."""
    first = poll()
    before = snapshot()
    second = poll()
    assert second["mails"] == 0, second
    assert snapshot() == before
    flags = box.flags()
    assert flags and all("\\Seen" not in f for f in flags), flags
    return first


def queued_status(message: Message) -> tuple[str, str | None]:
    db.session.refresh(message)
    return message.status, message.last_error


# -- replies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "first_line", "quoted"),
    [
        ("reply_gmail.eml", "Interessant! Kun je donderdag om 10:00 even bellen?", "Hallo, mail 1"),
        ("reply_outlook.eml", "Stuur mij maar een offerte voor het SEO-traject", "Verzonden:"),
        ("reply_apple_mail.eml", "Geen interesse op dit moment", "het volgende geschreven"),
    ],
)
def test_a_reply_records_replied_with_its_first_lines_and_stops_the_follow_up(
    app: Flask, mailbox: Mailbox, fixture: str, first_line: str, quoted: str
) -> None:
    _campaign, _leads, (first, second) = sent_campaign(mailbox.domain)
    mailbox.append(fixture, first)

    summary = poll_twice(mailbox)

    assert summary["outcomes"] == {"replied": 1}
    (replied,) = events(first, "replied")
    assert first_line in replied.meta["excerpt"]
    assert quoted not in replied.meta["excerpt"]
    assert replied.meta["matched_by"] == "in_reply_to"
    assert replied.meta["inbound_message_id"].startswith("<")
    assert replied.created_at <= utcnow()
    assert queued_status(second) == ("canceled", "lead replied")
    assert [e.meta["reason"] for e in events(second, "canceled")] == ["lead replied"]
    assert db.session.get(Lead, first.lead_id).status == "active"  # a reply is not an opt-out


def test_a_reply_whose_client_dropped_in_reply_to_matches_by_sender_and_subject(
    app: Flask, mailbox: Mailbox
) -> None:
    _campaign, _leads, (first, second) = sent_campaign(mailbox.domain)
    mailbox.append("reply_without_in_reply_to.eml", first)

    poll_twice(mailbox)

    (replied,) = events(first, "replied")
    assert replied.meta["matched_by"] == "sender_and_subject"
    assert replied.meta["excerpt"].startswith("Hallo Christian,\nJa, wij willen graag meer weten.")
    assert "Oorspronkelijk" not in replied.meta["excerpt"]
    assert queued_status(second) == ("canceled", "lead replied")


def test_a_re_mail_from_a_lead_about_another_subject_is_left_alone(
    app: Flask, mailbox: Mailbox
) -> None:
    _campaign, _leads, (first, second) = sent_campaign(mailbox.domain)
    mailbox.append("reply_without_in_reply_to.eml", first, SUBJECT_UPPER="onze factuur 2026-114")

    summary = poll_twice(mailbox)

    assert summary["outcomes"] == {"unmatched": 1}
    assert events(first, "replied") == []
    assert queued_status(second) == ("queued", None)


def test_a_reply_to_a_follow_up_lands_on_that_follow_up(app: Flask, mailbox: Mailbox) -> None:
    _campaign, _leads, (first, second, third) = sent_campaign(mailbox.domain, steps=3)
    mark_sent(second, mailbox.domain)
    db.session.commit()
    mailbox.append("reply_gmail.eml", second)

    poll_twice(mailbox)

    assert events(first, "replied") == []
    assert len(events(second, "replied")) == 1
    assert queued_status(third) == ("canceled", "lead replied")


def test_a_second_answer_to_the_same_mail_is_kept_too(app: Flask, mailbox: Mailbox) -> None:
    _campaign, _leads, (first, _second) = sent_campaign(mailbox.domain)
    mailbox.append("reply_gmail.eml", first)
    mailbox.append("reply_apple_mail.eml", first)

    summary = poll_twice(mailbox)

    assert summary["outcomes"] == {"replied": 2}
    excerpts = [e.meta["excerpt"] for e in events(first, "replied")]
    assert any("donderdag" in text for text in excerpts)
    assert any("Geen interesse" in text for text in excerpts)


def test_with_stop_company_on_reply_every_lead_of_that_company_is_stopped(
    app: Flask, mailbox: Mailbox
) -> None:
    campaign, (lead, colleague, other), messages = sent_campaign(
        mailbox.domain, leads=3, stop_company_on_reply=True
    )
    colleague.domain = lead.domain
    db.session.commit()
    # The same company in another running campaign, and in a draft one.
    elsewhere, _leads, _messages = make_running_campaign([mailbox.domain], leads=0, steps=1)
    later = make_message(elsewhere, colleague, domain_used=mailbox.domain.name)
    drafted, _leads, _messages = make_running_campaign([mailbox.domain], leads=0, steps=1)
    drafted.status = "draft"
    untouched = make_message(drafted, colleague, domain_used=mailbox.domain.name)
    db.session.commit()
    by_lead = {(m.lead_id, m.mail_number): m for m in messages}
    mailbox.append("reply_outlook.eml", by_lead[(lead.id, 1)])

    poll_twice(mailbox)

    assert queued_status(by_lead[(lead.id, 2)]) == ("canceled", "lead replied")
    assert queued_status(by_lead[(colleague.id, 2)]) == ("canceled", "company replied")
    assert queued_status(later) == ("canceled", "company replied")
    assert queued_status(untouched) == ("queued", None)
    assert queued_status(by_lead[(other.id, 2)]) == ("queued", None)
    assert campaign.stop_company_on_reply


def test_a_reply_from_a_free_mail_address_never_stops_the_whole_free_mail_domain(
    app: Flask, mailbox: Mailbox
) -> None:
    _campaign, (lead, stranger), messages = sent_campaign(
        mailbox.domain, leads=2, stop_company_on_reply=True
    )
    lead.email, lead.domain = "jan.jansen@gmail.com", "gmail.com"
    stranger.domain = "gmail.com"
    db.session.commit()
    by_lead = {(m.lead_id, m.mail_number): m for m in messages}
    mailbox.append("reply_gmail.eml", by_lead[(lead.id, 1)])

    poll_twice(mailbox)

    assert queued_status(by_lead[(lead.id, 2)]) == ("canceled", "lead replied")
    assert queued_status(by_lead[(stranger.id, 2)]) == ("queued", None)


# -- out of office ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "matched_by"),
    [
        ("ooo_dutch_outlook.eml", "in_reply_to"),  # "Automatisch antwoord", Auto-Submitted
        ("ooo_dutch_afwezig.eml", "sender"),  # "Afwezig", X-Autoreply, no In-Reply-To
        ("ooo_english_gmail.eml", "in_reply_to"),  # "Out of office", Auto-Submitted
        ("ooo_english_precedence.eml", "in_reply_to"),  # Precedence: auto_reply
    ],
)
def test_an_out_of_office_reply_is_recorded_and_stops_nothing(
    app: Flask, mailbox: Mailbox, fixture: str, matched_by: str
) -> None:
    _campaign, _leads, (first, second) = sent_campaign(mailbox.domain)
    mailbox.append(fixture, first)

    summary = poll_twice(mailbox)

    assert summary["outcomes"] == {"auto_replied": 1}
    (auto,) = events(first, "auto_replied")
    assert auto.meta["matched_by"] == matched_by
    assert auto.meta["reasons"]
    assert events(first, "replied") == []
    assert queued_status(second) == ("queued", None)
    assert db.session.get(Lead, first.lead_id).status == "active"


# -- bounces ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "status", "diagnostic", "matched_by"),
    [
        ("dsn_postfix.eml", "5.1.1", "User unknown", "x_campaign_message_id"),
        ("dsn_exchange.eml", "5.1.10", "RecipientNotFound", "x_campaign_message_id"),
        ("dsn_gmail.eml", "5.1.1", "does not exist", "returned_message_id"),
        ("bounce_exim_plain.eml", "5.0.0", "550 No such user here", "failed_recipient"),
    ],
)
def test_a_hard_bounce_marks_message_and_lead_bounced_and_suppresses_the_address(
    app: Flask, mailbox: Mailbox, fixture: str, status: str, diagnostic: str, matched_by: str
) -> None:
    _campaign, (lead,), (first, second) = sent_campaign(mailbox.domain)
    mailbox.append(fixture, first)

    summary = poll_twice(mailbox)

    assert summary["outcomes"] == {"bounced": 1}
    db.session.refresh(first)
    assert first.status == "bounced"
    (bounced,) = events(first, "bounced")
    assert bounced.meta["status"] == status
    assert diagnostic in bounced.meta["diagnostic"]
    assert bounced.meta["recipient"] == lead.email
    assert bounced.meta["matched_by"] == matched_by
    assert db.session.get(Lead, lead.id).status == "bounced"
    suppression = db.session.scalars(
        sa.select(Suppression).where(Suppression.email == lead.email)
    ).one()
    assert suppression.reason == "hard_bounce"
    assert queued_status(second)[0] == "canceled"
    assert [e.meta["reason"] for e in events(second, "canceled")] == ["hard_bounce"]


def test_a_soft_bounce_is_recorded_only(app: Flask, mailbox: Mailbox) -> None:
    _campaign, (lead,), (first, second) = sent_campaign(mailbox.domain)
    mailbox.append("dsn_gmail_delay.eml", first)

    summary = poll_twice(mailbox)

    assert summary["outcomes"] == {"soft_bounce": 1}
    (soft,) = events(first, "soft_bounce")
    assert soft.meta["status"] == "4.2.2"
    assert events(first, "bounced") == []
    db.session.refresh(first)
    assert first.status == "sent"
    assert db.session.get(Lead, lead.id).status == "active"
    assert db.session.scalars(sa.select(Suppression)).all() == []
    assert queued_status(second) == ("queued", None)


def test_a_bounce_for_an_address_we_never_mailed_is_left_alone(
    app: Flask, mailbox: Mailbox
) -> None:
    _campaign, _leads, (first, second) = sent_campaign(mailbox.domain)
    mailbox.append("bounce_exim_plain.eml", first, LEAD_EMAIL="nobody@elders.nl")

    summary = poll_twice(mailbox)

    assert summary["outcomes"] == {"unmatched": 1}
    assert db.session.scalars(sa.select(Suppression)).all() == []
    assert queued_status(second) == ("queued", None)


# -- unsubscribe and unrelated mail -----------------------------------------------------


def test_a_mail_to_the_unsubscribe_address_suppresses_the_lead(
    app: Flask, mailbox: Mailbox
) -> None:
    _campaign, (lead,), (first, second) = sent_campaign(mailbox.domain)
    mailbox.append("unsubscribe_request.eml", first)

    summary = poll_twice(mailbox)

    assert summary["outcomes"] == {"unsubscribed": 1}
    (unsubscribed,) = events(first, "unsubscribed")
    assert unsubscribed.meta["via"] == "mail"
    assert unsubscribed.meta["matched_by"] == "unsubscribe_token"
    assert db.session.get(Lead, lead.id).status == "suppressed"
    suppression = db.session.scalars(sa.select(Suppression)).one()
    assert (suppression.email, suppression.reason) == (lead.email, "unsubscribed")
    assert queued_status(second)[0] == "canceled"


def test_an_unrelated_mail_changes_nothing(app: Flask, mailbox: Mailbox) -> None:
    _campaign, _leads, (first, second) = sent_campaign(mailbox.domain)
    before = snapshot()
    mailbox.append("unrelated.eml", first)

    summary = poll_twice(mailbox)

    assert summary["outcomes"] == {"unrelated": 1}
    assert snapshot() == before
    assert queued_status(second) == ("queued", None)


# -- the poller itself ------------------------------------------------------------------


def test_a_new_uidvalidity_reads_the_mailbox_again_without_counting_anything_twice(
    app: Flask, mailbox: Mailbox
) -> None:
    _campaign, _leads, (first, _second) = sent_campaign(mailbox.domain)
    mailbox.append("reply_gmail.eml", first)
    mailbox.append("dsn_gmail_delay.eml", first)
    poll()
    before = snapshot()
    domain = db.session.get(SendingDomain, mailbox.domain.id)
    assert domain.imap_last_uid == 2
    domain.imap_uidvalidity = 1  # as if the server renumbered the folder
    db.session.commit()

    summary = poll()

    assert summary["mails"] == 2
    assert summary["outcomes"] == {"duplicate": 2}
    assert snapshot() == before
    assert db.session.get(SendingDomain, mailbox.domain.id).imap_uidvalidity != 1


def test_only_mail_that_arrived_since_the_last_pass_is_read(app: Flask, mailbox: Mailbox) -> None:
    _campaign, (lead, other), messages = sent_campaign(mailbox.domain, leads=2)
    by_lead = {(m.lead_id, m.mail_number): m for m in messages}
    mailbox.append("ooo_english_gmail.eml", by_lead[(lead.id, 1)])
    assert poll()["mails"] == 1
    mailbox.append("reply_gmail.eml", by_lead[(other.id, 1)])

    summary = poll()

    assert summary["mails"] == 1
    assert summary["outcomes"] == {"replied": 1}


def test_a_mailbox_that_cannot_be_reached_is_reported_and_the_others_still_polled(
    app: Flask, mailbox: Mailbox
) -> None:
    from tests.sending_support import make_domain
    from tests.support.services import free_port

    make_domain(
        "punthelder-marketing.nl",
        2525,
        imap_host="127.0.0.1",
        imap_port=free_port(),
        imap_user="x",
        imap_password="y",
        imap_tls=False,
    )
    _campaign, _leads, (first, _second) = sent_campaign(mailbox.domain)
    mailbox.append("reply_gmail.eml", first)

    summary = poll()

    assert summary["mailboxes"] == 2
    assert list(summary["errors"]) == ["punthelder-marketing.nl"]
    assert summary["outcomes"] == {"replied": 1}


def test_a_wrong_password_is_reported_without_reading_anything(
    app: Flask, mailbox: Mailbox
) -> None:
    mailbox.domain.imap_password = "wrong"
    db.session.commit()

    summary = poll()

    assert list(summary["errors"]) == [mailbox.domain.name]
    assert db.session.get(SendingDomain, mailbox.domain.id).imap_last_uid is None


def test_domains_without_a_mailbox_are_skipped(app: Flask) -> None:
    from tests.sending_support import make_domain

    make_domain("punthelder-vindbaarheid.nl", 2525)
    db.session.commit()

    assert poll() == {"mailboxes": 0, "mails": 0, "outcomes": {}, "errors": {}}


def test_the_cli_polls_once_and_prints_the_summary(app: Flask, mailbox: Mailbox) -> None:
    import json

    _campaign, _leads, (first, second) = sent_campaign(mailbox.domain)
    mailbox.append("reply_outlook.eml", first)

    result = app.test_cli_runner().invoke(args=["inbox", "poll", "--once"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["outcomes"] == {"replied": 1}
    db.session.expire_all()
    assert queued_status(second) == ("canceled", "lead replied")


def test_the_worker_polls_the_inbox_every_configured_interval(app: Flask) -> None:
    from webapp.worker import periodic_passes

    configured = app.config.get("INBOX_POLL_SECONDS")
    app.config["INBOX_POLL_SECONDS"] = 120
    try:
        passes = {p.name: p for p in periodic_passes(app)}
    finally:
        app.config["INBOX_POLL_SECONDS"] = configured
        if configured is None:
            del app.config["INBOX_POLL_SECONDS"]
    assert passes["inbox"].every == 120
    assert passes["inbox"].run() == {"mailboxes": 0, "mails": 0, "outcomes": {}, "errors": {}}


def test_a_lead_made_by_hand_is_matched_too(app: Flask, mailbox: Mailbox) -> None:
    """No campaign helper: a lead and message as the importer and planner would leave them."""
    from tests.factories import make_campaign

    lead = make_lead(email="eigenaar@bakkerij-de-vries.nl", domain="bakkerij-de-vries.nl")
    campaign = make_campaign(status="running", domain=mailbox.domain.name)
    message = make_message(campaign, lead, domain_used=mailbox.domain.name)
    mark_sent(message, mailbox.domain)
    db.session.commit()
    mailbox.append("reply_apple_mail.eml", message)

    poll_twice(mailbox)

    assert len(events(message, "replied")) == 1


def test_pointing_a_domain_at_another_mailbox_forgets_the_old_bookmark(
    app: Flask, mailbox: Mailbox
) -> None:
    from webapp.services.domains import update_domain

    _campaign, _leads, (first, _second) = sent_campaign(mailbox.domain)
    mailbox.append("reply_gmail.eml", first)
    poll()
    domain = db.session.get(SendingDomain, mailbox.domain.id)
    assert (domain.imap_uidvalidity, domain.imap_last_uid) != (None, None)

    update_domain(domain, {"interval_seconds": 600})
    assert domain.imap_last_uid == 1
    update_domain(domain, {"imap_folder": "Archief"})

    assert (domain.imap_uidvalidity, domain.imap_last_uid) == (None, None)
