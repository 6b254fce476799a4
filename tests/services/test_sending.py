"""Sending in-process against a real SMTP server: headers, threading, outcomes, rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask
from psycopg import sql as psycopg_sql

from tests.conftest import migrate, new_app
from tests.sending_support import make_domain, make_running_campaign
from tests.support.services import PostgresServer, SmtpCapture
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Campaign, Lead, Message, MessageEvent, SendingDomain, Suppression
from webapp.services.sending.dispatch import dispatch_once
from webapp.services.sending.send import send_claimed_message


@pytest.fixture
def smtp_app(app: Flask, smtp_server: SmtpCapture) -> Iterator[Flask]:
    app.config["MAIL_BACKEND"] = "smtp"
    yield app
    app.config["MAIL_BACKEND"] = "outbox"


def run_until_idle(limit: int = 50) -> list[str]:
    """Dispatch and send in this process until nothing is claimed (pace allowing)."""
    outcomes: list[str] = []
    for _ in range(limit):
        result = dispatch_once(utcnow(), enqueue=False)
        if not result.claimed:
            break
        for message_id, token in result.claimed:
            outcomes.append(send_claimed_message(message_id, token))
        # Each domain may send once per interval: open the gate for the next round.
        db.session.execute(sa.update(SendingDomain).values(last_sent_at=None))
        db.session.commit()
    return outcomes


def events(message: Message) -> list[str]:
    return list(
        db.session.execute(
            sa.select(MessageEvent.event_type)
            .where(MessageEvent.message_id == message.id)
            .order_by(MessageEvent.created_at)
        ).scalars()
    )


def test_every_message_is_delivered_once_with_the_right_headers(
    smtp_app: Flask, smtp_server: SmtpCapture
) -> None:
    domains = [make_domain("punthelder-seo.nl", smtp_server.port)]
    _campaign, leads, messages = make_running_campaign(domains, leads=2, steps=3)
    outcomes = run_until_idle()
    assert outcomes == ["sent"] * 6
    received = smtp_server.wait_for(6)
    assert sorted(m.rcpt_tos[0] for m in received) == sorted([lead.email for lead in leads] * 3)

    db.session.expire_all()
    by_lead: dict[str, list[Message]] = {}
    for message in messages:
        message = db.session.get(Message, message.id)
        assert message.status == "sent"
        assert message.sent_at is not None
        assert events(message) == ["sent"]
        by_lead.setdefault(message.lead_id, []).append(message)
    lead = db.session.get(Lead, leads[0].id)
    assert lead.last_emailed_at is not None

    mails = {m.message["X-Campaign-Message-ID"]: m.message for m in received}
    first, second, third = sorted(by_lead[leads[0].id], key=lambda m: m.mail_number)
    mail1, mail2, mail3 = mails[first.id], mails[second.id], mails[third.id]
    assert mail1["Message-ID"] == first.smtp_message_id
    assert first.smtp_message_id.endswith("@punthelder-seo.nl>")
    assert mail1["From"] == f"Christian de Vries <{first.from_email}>"
    assert mail1["Reply-To"] == first.from_email
    assert mail1["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe = mail1["List-Unsubscribe"]
    assert "<http://campaigns.test/u/" in unsubscribe
    assert "<mailto:unsubscribe@punthelder-seo.nl?" in unsubscribe
    assert mail1["In-Reply-To"] is None
    company = leads[0].company
    assert mail1["Subject"] == f"Mail 1 voor {company}"
    # Follow-ups thread to their parents.
    assert mail2["In-Reply-To"] == first.smtp_message_id
    assert mail3["In-Reply-To"] == second.smtp_message_id
    assert mail3["References"].split() == [first.smtp_message_id, second.smtp_message_id]
    # Both parts, and an unsubscribe line in each.
    text = mail1.get_body(("plain",)).get_content()
    html = mail1.get_body(("html",)).get_content()
    assert f"Hallo {company}, mail 1." in text
    assert "/u/" in text and "/u/" in html
    assert "/t/o/" in html  # the open pixel


def test_a_follow_up_without_its_own_subject_is_re_mail_one(
    smtp_app: Flask, smtp_server: SmtpCapture
) -> None:
    domains = [make_domain("punthelder-seo.nl", smtp_server.port)]
    campaign, leads, _messages = make_running_campaign(domains, leads=1, steps=2)
    step2 = next(s for s in campaign.template.steps if s.mail_number == 2)
    step2.subject = ""
    db.session.commit()
    run_until_idle()
    received = smtp_server.wait_for(2)
    subjects = sorted(m.message["Subject"] for m in received)
    assert subjects == [f"Mail 1 voor {leads[0].company}", f"Re: Mail 1 voor {leads[0].company}"]


def test_a_follow_up_answers_the_subject_sent_even_after_the_template_changed(
    smtp_app: Flask, smtp_server: SmtpCapture
) -> None:
    from webapp.services.inbox.match import sent_subject

    domains = [make_domain("punthelder-seo.nl", smtp_server.port)]
    campaign, leads, messages = make_running_campaign(domains, leads=1, steps=2)
    first, second = sorted(messages, key=lambda m: m.mail_number)
    step1, step2 = sorted(campaign.template.steps, key=lambda s: s.mail_number)
    step2.subject = ""
    second.scheduled_at = utcnow() + timedelta(days=1)  # mail 1 goes first, alone
    db.session.commit()
    run_until_idle()
    sent = f"Mail 1 voor {leads[0].company}"
    db.session.expire_all()
    assert db.session.get(Message, first.id).subject == sent  # kept as it went out

    # The template is edited while the follow-up waits.
    step1 = db.session.get(type(step1), step1.id)
    step1.subject = "Iets anders voor {{ company }}"
    db.session.execute(
        sa.update(Message).where(Message.id == second.id).values(scheduled_at=utcnow())
    )
    db.session.commit()
    run_until_idle()
    received = smtp_server.wait_for(2)
    assert sorted(m.message["Subject"] for m in received) == [sent, f"Re: {sent}"]
    # A reply is matched by the subject that went out, not the edited one.
    db.session.expire_all()
    domain = db.session.get(SendingDomain, domains[0].id)
    assert sent_subject(db.session.get(Message, first.id), domain) == sent


def test_a_451_retries_later_then_fails_after_the_third_attempt(
    smtp_app: Flask, smtp_server: SmtpCapture
) -> None:
    domains = [make_domain("punthelder-seo.nl", smtp_server.port)]
    _campaign, leads, messages = make_running_campaign(domains, leads=1)
    smtp_server.reject(leads[0].email, 451, "4.7.1 Try again later")
    assert run_until_idle() == ["queued"]
    db.session.expire_all()
    message = db.session.get(Message, messages[0].id)
    assert message.retry_count == 1
    assert message.status == "queued"
    assert message.scheduled_at > utcnow() + timedelta(minutes=4)  # a later slot
    assert message.last_error == "451 4.7.1 Try again later"
    assert events(message) == ["deferred"]

    for expected in ("queued", "failed"):
        message.scheduled_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert run_until_idle() == [expected]
        db.session.expire_all()
        message = db.session.get(Message, messages[0].id)
    assert message.status == "failed"
    assert message.retry_count == 3
    assert events(message) == ["deferred", "deferred", "failed"]
    assert smtp_server.messages == []


def test_a_550_is_a_hard_bounce_that_suppresses_and_cancels_the_rest(
    smtp_app: Flask, smtp_server: SmtpCapture
) -> None:
    domains = [make_domain("punthelder-seo.nl", smtp_server.port)]
    _campaign, leads, messages = make_running_campaign(domains, leads=1, steps=3)
    smtp_server.reject(leads[0].email, 550, "5.1.1 User unknown")
    assert run_until_idle() == ["bounced"]
    db.session.expire_all()
    first, second, third = (db.session.get(Message, m.id) for m in messages)
    assert first.status == "bounced"
    assert first.last_error == "550 5.1.1 User unknown"
    meta = db.session.execute(
        sa.select(MessageEvent.meta).where(MessageEvent.message_id == first.id)
    ).scalar_one()
    assert meta["code"] == 550
    assert (second.status, third.status) == ("canceled", "canceled")
    assert db.session.get(Lead, leads[0].id).status == "bounced"
    suppression = db.session.execute(
        sa.select(Suppression).where(Suppression.email == leads[0].email)
    ).scalar_one()
    assert suppression.reason == "hard_bounce"


def test_a_stop_between_planning_and_sending_sends_nothing(
    smtp_app: Flask, smtp_server: SmtpCapture
) -> None:
    domains = [make_domain("punthelder-seo.nl", smtp_server.port)]
    _campaign, _leads, messages = make_running_campaign(domains, leads=2, steps=2)
    claimed = dispatch_once(utcnow(), enqueue=False).claimed
    assert len(claimed) == 1
    # The lead of the claimed mail is stopped after the claim, before the job runs.
    message = db.session.get(Message, claimed[0][0])
    db.session.get(Lead, message.lead_id).stopped = True
    db.session.commit()
    assert send_claimed_message(*claimed[0]) == "canceled"
    run_until_idle()
    db.session.expire_all()
    stopped_lead = message.lead_id
    for m in messages:
        m = db.session.get(Message, m.id)
        if m.lead_id == stopped_lead:
            assert m.status in ("canceled", "queued")
            assert m.sent_at is None
    assert all(
        mail.rcpt_tos[0] != db.session.get(Lead, stopped_lead).email
        for mail in smtp_server.messages
    )


def test_a_stale_claim_token_never_sends(smtp_app: Flask, smtp_server: SmtpCapture) -> None:
    domains = [make_domain("punthelder-seo.nl", smtp_server.port)]
    make_running_campaign(domains, leads=1)
    ((message_id, token),) = dispatch_once(utcnow(), enqueue=False).claimed
    assert send_claimed_message(message_id, "not-the-token") == "stale"
    assert send_claimed_message(message_id, token) == "sent"
    assert send_claimed_message(message_id, token) == "stale"
    assert len(smtp_server.wait_for(1)) == 1


def test_nothing_is_claimed_outside_the_window_or_for_a_paused_campaign(
    smtp_app: Flask, smtp_server: SmtpCapture
) -> None:
    from datetime import time

    domain = make_domain("punthelder-seo.nl", smtp_server.port)
    campaign, _, _ = make_running_campaign([domain], leads=1)
    campaign.status = "paused"
    db.session.commit()
    assert dispatch_once(utcnow(), enqueue=False).claimed == []
    campaign.status = "running"
    domain.window_start, domain.window_end = time(2, 0), time(3, 0)  # it is noon there
    db.session.commit()
    assert dispatch_once(utcnow(), enqueue=False).claimed == []


def test_the_domain_pace_allows_one_send_per_interval(
    smtp_app: Flask, smtp_server: SmtpCapture
) -> None:
    domain = make_domain("punthelder-seo.nl", smtp_server.port, interval_seconds=3600)
    make_running_campaign([domain], leads=3)
    first = dispatch_once(utcnow(), enqueue=False).claimed
    assert len(first) == 1
    assert dispatch_once(utcnow(), enqueue=False).claimed == []  # one in flight
    assert send_claimed_message(*first[0]) == "sent"
    assert dispatch_once(utcnow(), enqueue=False).claimed == []  # the interval holds
    later = utcnow() + timedelta(seconds=3601)
    assert len(dispatch_once(later, enqueue=False).claimed) == 1


def test_a_mail_whose_render_breaks_a_limit_fails_with_the_reason_and_frees_its_domain(
    smtp_app: Flask, smtp_server: SmtpCapture
) -> None:
    domain = make_domain("punthelder-seo.nl", smtp_server.port, interval_seconds=3600)
    campaign, leads, messages = make_running_campaign([domain], leads=2)
    # A branch only one lead takes: a preview for another lead would never run it.
    campaign.template.steps[0].body_html = (
        "{% if company == 'Vijandig BV' %}{% set l = range(1000)|list %}"
        "{{ ([l] * 3000)|sum(start=[])|length }}{% endif %}<p>Hallo {{ company }}</p>"
    )
    leads[0].company = "Vijandig BV"
    db.session.commit()

    (claim,) = dispatch_once(utcnow(), enqueue=False).claimed
    assert claim[0] == messages[0].id
    assert send_claimed_message(*claim) == "failed"

    db.session.expire_all()
    failed = db.session.get(Message, messages[0].id)
    assert failed is not None and failed.status == "failed"
    assert failed.last_error is not None
    assert "repeating a list would make a list of more than 10,000 items" in failed.last_error
    assert events(failed) == ["failed"]
    # The domain's pace gate was never taken: the next mail goes at once, not in an hour.
    assert db.session.get(SendingDomain, domain.id).last_sent_at is None  # type: ignore[union-attr]
    (second,) = dispatch_once(utcnow(), enqueue=False).claimed
    assert second[0] == messages[1].id
    assert send_claimed_message(*second) == "sent"
    assert len(smtp_server.messages) == 1


def test_a_campaign_completes_when_nothing_is_left(
    smtp_app: Flask, smtp_server: SmtpCapture
) -> None:
    domains = [make_domain("punthelder-seo.nl", smtp_server.port)]
    campaign, _, _ = make_running_campaign(domains, leads=2)
    run_until_idle()
    dispatch_once(utcnow(), enqueue=False)
    db.session.expire_all()
    campaign = db.session.get(Campaign, campaign.id)
    assert campaign.status == "completed"
    assert campaign.finished_at is not None


def test_the_outbox_backend_writes_the_mail_instead(app: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app.config["OUTBOX_DIR"] = str(tmp_path)
    try:
        domains = [make_domain("punthelder-seo.nl", 1)]
        _, _, messages = make_running_campaign(domains, leads=1)
        assert run_until_idle() == ["sent"]
    finally:
        app.config["OUTBOX_DIR"] = "instance/outbox"
    written = list(tmp_path.glob("*.eml"))
    assert [p.stem for p in written] == [messages[0].id]
    assert b"X-Campaign-Message-ID: " + messages[0].id.encode() in written[0].read_bytes()


def test_a_connection_dropped_after_data_is_uncertain_and_never_retried(
    smtp_app: Flask, smtp_server: SmtpCapture
) -> None:
    domains = [make_domain("punthelder-seo.nl", smtp_server.port)]
    _, leads, messages = make_running_campaign(domains, leads=1, steps=2)
    smtp_server.drop_after_data(leads[0].email)
    assert run_until_idle() == ["uncertain"]
    assert len(smtp_server.wait_for(1)) == 1  # it did arrive
    db.session.expire_all()
    first, second = (db.session.get(Message, m.id) for m in messages)
    assert first.status == "uncertain"
    assert "connection lost during DATA" in first.last_error
    assert events(first) == ["uncertain"]
    assert first.retry_count == 0
    # The follow-up waits for the operator's decision; nothing is sent again.
    assert run_until_idle() == []
    assert second.status == "queued"
    assert len(smtp_server.messages) == 1


def test_the_sending_window_follows_daylight_saving_time(app: Flask) -> None:
    from datetime import UTC, datetime, time

    from webapp.services.sending.rules import in_sending_window

    domain = make_domain(
        "punthelder-seo.nl",
        1,
        timezone="Europe/Amsterdam",
        working_days=[1, 2, 3, 4, 5, 6, 7],
        window_start=time(9, 0),
        window_end=time(18, 0),
    )
    # Saturday 28 March 2026, winter time: 09:00 in Amsterdam is 08:00 UTC.
    assert not in_sending_window(domain, datetime(2026, 3, 28, 7, 59, tzinfo=UTC))
    assert in_sending_window(domain, datetime(2026, 3, 28, 8, 0, tzinfo=UTC))
    # Sunday 29 March, summer time from 02:00: 09:00 is 07:00 UTC, 18:00 is 16:00 UTC.
    assert in_sending_window(domain, datetime(2026, 3, 29, 7, 0, tzinfo=UTC))
    assert not in_sending_window(domain, datetime(2026, 3, 29, 16, 0, tzinfo=UTC))
    # Sunday 25 October, back to winter time at 03:00: 17:59 local is 16:59 UTC.
    assert in_sending_window(domain, datetime(2026, 10, 25, 16, 59, tzinfo=UTC))
    assert not in_sending_window(domain, datetime(2026, 10, 25, 17, 0, tzinfo=UTC))
    # Working days and Dutch holidays hold too.
    domain.working_days = [1, 2, 3, 4, 5]
    domain.skip_holidays = True
    assert not in_sending_window(domain, datetime(2026, 3, 28, 10, 0, tzinfo=UTC))  # Saturday
    assert not in_sending_window(domain, datetime(2026, 4, 27, 10, 0, tzinfo=UTC))  # King's Day
    assert in_sending_window(domain, datetime(2026, 4, 28, 10, 0, tzinfo=UTC))


def test_a_domain_bouncing_too_often_is_paused_with_the_reason(
    smtp_app: Flask, smtp_server: SmtpCapture
) -> None:
    smtp_app.config.update(DOMAIN_HEALTH_MIN_SENDS=4, DOMAIN_HEALTH_WINDOW=50)
    try:
        domain = make_domain("punthelder-seo.nl", smtp_server.port)
        _, leads, messages = make_running_campaign([domain], leads=6)
        # Mail goes in scheduled order: three good sends, then the bounce.
        for index, message in enumerate(messages):
            message.scheduled_at = utcnow() - timedelta(minutes=10 - index)
        db.session.commit()
        smtp_server.reject(leads[3].email, 550, "5.1.1 User unknown")
        run_until_idle(limit=4)
        db.session.expire_all()
        domain = db.session.get(SendingDomain, domain.id)
        assert domain.paused is True
        assert domain.paused_reason == (
            "paused automatically: 25% hard bounces in the last 4 sends"
        )
        assert dispatch_once(utcnow(), enqueue=False).claimed == []
        statuses = sorted(db.session.get(Message, m.id).status for m in messages)
        assert statuses == ["bounced", "queued", "queued", "sent", "sent", "sent"]
    finally:
        smtp_app.config.update(DOMAIN_HEALTH_MIN_SENDS=20, DOMAIN_HEALTH_WINDOW=50)


def test_mail_is_dkim_signed_when_the_domain_has_a_key(
    smtp_app: Flask, smtp_server: SmtpCapture, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    import base64
    import subprocess

    import dkim

    key = tmp_path / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(key), "2048"], check=True, capture_output=True)
    public = subprocess.run(
        ["openssl", "rsa", "-in", str(key), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    domain = make_domain(
        "punthelder-seo.nl",
        smtp_server.port,
        dkim_selector="mail2026",
        dkim_private_key=key.read_text(),
    )
    make_running_campaign([domain], leads=1)
    assert run_until_idle() == ["sent"]
    (mail,) = smtp_server.wait_for(1)
    assert mail.data.startswith(b"DKIM-Signature:")

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"mail2026._domainkey.punthelder-seo.nl."
        return record

    assert dkim.verify(mail.data, dnsfunc=dns)
    # Any change to a signed header breaks it.
    tampered = mail.data.replace(b"Subject: Mail 1", b"Subject: Mail 9")
    assert not dkim.verify(tampered, dnsfunc=dns)


def test_a_mail_whose_start_is_committed_goes_out_though_the_database_then_goes_away(
    fresh_database: Callable[[], str],
    postgres_server: PostgresServer,
    smtp_server: SmtpCapture,
) -> None:
    """Once the start is committed the mail is the sender's to deliver: nothing between that
    commit and the SMTP conversation may need the database. (Its outcome cannot be written
    then, so it will be settled as uncertain, never sent twice.)"""
    url = fresh_database()
    name = url.rsplit("/", 1)[1]
    isolated = new_app(url, MAIL_BACKEND="smtp")
    migrate(isolated)

    def database_goes_away(session: Any) -> None:
        with psycopg.connect(postgres_server.admin_url, autocommit=True) as admin:
            database = psycopg_sql.Identifier(name)
            admin.execute(
                psycopg_sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(database)
            )
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )

    try:
        with isolated.app_context():
            make_running_campaign([make_domain("punthelder-seo.nl", smtp_server.port)], 1, 1)
            db.session.commit()
            ((message_id, token),) = dispatch_once(utcnow(), enqueue=False).claimed
            # The send job's first commit is its start.
            sa.event.listen(db.session(), "after_commit", database_goes_away, once=True)
            with pytest.raises(sa.exc.OperationalError):
                send_claimed_message(message_id, token)  # the outcome cannot be written
            (mail,) = smtp_server.wait_for(1)
            assert mail.message["X-Campaign-Message-ID"] == message_id
    finally:
        with psycopg.connect(postgres_server.admin_url, autocommit=True) as admin:
            database = psycopg_sql.Identifier(name)
            admin.execute(
                psycopg_sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS true").format(database)
            )
        with isolated.app_context():
            db.session.remove()
            db.engine.dispose()
    with isolated.app_context():
        message = db.session.get(Message, message_id)
        assert message is not None
        assert (message.status, message.send_started_at is not None) == ("sending", True)
        assert dispatch_once(utcnow(), enqueue=False).claimed == []
        db.engine.dispose()
