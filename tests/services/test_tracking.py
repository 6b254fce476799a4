"""Recording opens, clicks and unsubscribes: machine opens, client IPs, privacy, retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.factories import make_campaign, make_event, make_lead, make_message
from webapp.extensions import db
from webapp.models import Lead, Message, MessageEvent, Suppression
from webapp.services.tracking import events as tracking
from webapp.services.tracking import unsubscribing
from webapp.services.tracking.retention import purge_tracking_details

SENT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = SENT_AT + timedelta(hours=2)

DESKTOP_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
OUTLOOK_DESKTOP = (
    "Mozilla/4.0 (compatible; ms-office; MSOffice rmj) Microsoft Outlook 16.0.17328; Pro"
)
IPHONE_MAIL = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148"
)
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
YAHOO_PROXY = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
HOME_IP = "203.0.113.45"

# (user agent, client IP, seconds after sending) -> the machine reason, or None for a person.
CLASSIFICATION_TABLE: list[tuple[str | None, str | None, float, str | None]] = [
    (DESKTOP_CHROME, HOME_IP, 3600, None),
    (OUTLOOK_DESKTOP, HOME_IP, 600, None),
    (IPHONE_MAIL, "2001:db8:4:5::1", 90, None),
    (DESKTOP_CHROME, None, 7200, None),
    # Apple Mail Privacy Protection: Apple's network, or the bare agent it sends.
    ("Mozilla/5.0", "17.58.101.7", 3600, "apple_mpp"),
    (IPHONE_MAIL, "17.120.3.9", 3600, "apple_mpp"),
    ("Mozilla/5.0", "104.28.40.12", 3600, "apple_mpp"),
    # Image proxies of Gmail and Yahoo.
    (GMAIL_PROXY, "66.249.84.10", 3600, "google_image_proxy"),
    (YAHOO_PROXY, "98.137.10.5", 3600, "yahoo_image_proxy"),
    # Microsoft's mail scanners (Exchange Online Protection), IPv4 and IPv6.
    (DESKTOP_CHROME, "40.107.22.15", 3600, "microsoft_scanner"),
    (DESKTOP_CHROME, "52.101.4.2", 3600, "microsoft_scanner"),
    (DESKTOP_CHROME, "2a01:111:f400:fe1e::1", 3600, "microsoft_scanner"),
    ("Mozilla/5.0 (compatible; BingPreview/1.0b)", HOME_IP, 3600, "microsoft_scanner"),
    # Other scanners and scripts.
    ("Barracuda Sentinel (EE)", HOME_IP, 3600, "security_scanner"),
    ("Mozilla/5.0 (compatible; Mimecast URL Protect)", HOME_IP, 3600, "security_scanner"),
    ("python-requests/2.32.3", HOME_IP, 3600, "automated_client"),
    ("curl/8.5.0", HOME_IP, 3600, "automated_client"),
    (
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        None,
        3600,
        "automated_client",
    ),
    ("Mozilla/5.0 HeadlessChrome/120.0", HOME_IP, 3600, "automated_client"),
    ("", HOME_IP, 3600, "no_user_agent"),
    (None, HOME_IP, 3600, "no_user_agent"),
    # Too soon after sending for a person; the limit itself is no longer too soon.
    (DESKTOP_CHROME, HOME_IP, 4, "seconds_after_send"),
    (DESKTOP_CHROME, HOME_IP, 59.9, "seconds_after_send"),
    (DESKTOP_CHROME, HOME_IP, 60, None),
    # An IPv4 address written as IPv6 is still Apple's.
    (DESKTOP_CHROME, "::ffff:17.1.2.3", 3600, "apple_mpp"),
]


@pytest.mark.parametrize(("user_agent", "ip", "seconds", "expected"), CLASSIFICATION_TABLE)
def test_opens_are_classified_from_agent_address_and_timing(
    user_agent: str | None, ip: str | None, seconds: float, expected: str | None
) -> None:
    now = SENT_AT + timedelta(seconds=seconds)
    assert tracking.classify(user_agent, ip, SENT_AT, now, machine_seconds=60) == expected


def test_the_seconds_after_sending_are_configurable() -> None:
    now = SENT_AT + timedelta(seconds=100)
    assert tracking.classify(DESKTOP_CHROME, HOME_IP, SENT_AT, now, 120) == "seconds_after_send"
    assert tracking.classify(DESKTOP_CHROME, HOME_IP, SENT_AT, now, 0) is None


@pytest.mark.parametrize(
    ("remote_addr", "forwarded_for", "trusted", "expected"),
    [
        ("198.51.100.1", None, 0, "198.51.100.1"),
        # Without trusted proxies the header is the client's say-so: ignored.
        ("198.51.100.1", "203.0.113.9", 0, "198.51.100.1"),
        ("10.0.0.2", "203.0.113.9", 1, "203.0.113.9"),
        # A client that forges the header only adds entries to the left.
        ("10.0.0.2", "1.2.3.4, 203.0.113.9", 1, "203.0.113.9"),
        ("10.0.0.2", "1.2.3.4, 203.0.113.9, 10.0.0.1", 2, "203.0.113.9"),
        # Fewer entries than trusted proxies: the header cannot be trusted at all.
        ("10.0.0.2", "203.0.113.9", 2, "10.0.0.2"),
        ("10.0.0.2", "not-an-ip", 1, None),
        ("10.0.0.2", "[2001:db8::7]:4711", 1, "2001:db8::7"),
        ("10.0.0.2", "203.0.113.9:4711", 1, "203.0.113.9"),
        ("10.0.0.2", "x" * 100_000 + ", 203.0.113.9", 1, "203.0.113.9"),
        (None, None, 0, None),
        ("garbage", None, 0, None),
    ],
)
def test_the_client_ip_comes_through_trusted_proxies_only(
    remote_addr: str | None, forwarded_for: str | None, trusted: int, expected: str | None
) -> None:
    assert tracking.client_ip(remote_addr, forwarded_for, trusted) == expected


@pytest.mark.parametrize(
    ("ip", "mode", "stored"),
    [
        ("203.0.113.45", "truncate", "203.0.113.0/24"),
        ("2001:db8:abcd:12:1:2:3:4", "truncate", "2001:db8:abcd::/48"),
        ("::ffff:203.0.113.45", "truncate", "203.0.113.0/24"),
        ("203.0.113.45", "none", None),
        ("2001:db8:abcd:12::1", "none", None),
        ("203.0.113.45", "full", "203.0.113.45"),
        (None, "truncate", None),
    ],
)
def test_ips_are_stored_truncated_not_at_all_or_whole(
    ip: str | None, mode: str, stored: str | None
) -> None:
    assert tracking.stored_ip(ip, mode) == stored


# -- recording, on the database ------------------------------------------------------------


def _sent_message(**overrides: Any) -> Message:
    values: dict[str, Any] = {"status": "sent", "sent_at": SENT_AT}
    values.update(overrides)
    lead = values.pop("lead", None) or make_lead()
    campaign = values.pop("campaign", None) or make_campaign(status="running")
    return make_message(campaign, lead, **values)


def _events(message: Message, event_type: str) -> list[MessageEvent]:
    return list(
        db.session.scalars(
            sa.select(MessageEvent)
            .where(MessageEvent.message_id == message.id, MessageEvent.event_type == event_type)
            .order_by(MessageEvent.created_at)
        )
    )


def test_the_first_open_sets_open_at_and_moves_sent_to_opened(app: Flask) -> None:
    message = _sent_message()
    assert tracking.record_open(message.id, DESKTOP_CHROME, HOME_IP, now=LATER) is True
    tracking.record_open(message.id, DESKTOP_CHROME, HOME_IP, now=LATER + timedelta(days=1))
    db.session.commit()
    db.session.expire_all()

    assert message.status == "opened"
    assert message.open_at == LATER
    opens = _events(message, "opened")
    assert len(opens) == 2
    assert opens[0].meta == {"machine": False}
    assert opens[0].user_agent == DESKTOP_CHROME
    assert opens[0].ip_address == "203.0.113.0/24"
    assert opens[0].created_at == LATER


def test_a_machine_open_is_kept_flagged_and_still_sets_open_at(app: Flask) -> None:
    message = _sent_message()
    tracking.record_open(message.id, "Mozilla/5.0", "17.58.101.7", now=SENT_AT + timedelta(1))
    db.session.commit()
    db.session.expire_all()

    (event,) = _events(message, "opened")
    assert event.meta == {"machine": True, "reason": "apple_mpp"}
    assert message.open_at is not None and message.status == "opened"


def test_an_open_soon_after_sending_is_a_machine_open_by_configuration(app: Flask) -> None:
    message = _sent_message()
    app.config["MACHINE_OPEN_SECONDS"] = 300
    try:
        tracking.record_open(message.id, DESKTOP_CHROME, HOME_IP, SENT_AT + timedelta(minutes=4))
    finally:
        app.config.pop("MACHINE_OPEN_SECONDS")
    tracking.record_open(message.id, DESKTOP_CHROME, HOME_IP, SENT_AT + timedelta(minutes=4))
    db.session.flush()
    first, second = _events(message, "opened")
    assert first.meta == {"machine": True, "reason": "seconds_after_send"}
    assert second.meta == {"machine": False}


@pytest.mark.parametrize(("mode", "stored"), [("none", None), ("full", HOME_IP)])
def test_the_ip_mode_setting_decides_what_is_stored(
    app: Flask, mode: str, stored: str | None
) -> None:
    message = _sent_message()
    app.config["TRACKING_IP_MODE"] = mode
    try:
        tracking.record_open(message.id, DESKTOP_CHROME, HOME_IP, now=LATER)
    finally:
        app.config.pop("TRACKING_IP_MODE")
    db.session.flush()
    assert _events(message, "opened")[0].ip_address == stored


def test_an_open_does_not_change_a_status_past_sent(app: Flask) -> None:
    message = _sent_message(status="bounced")
    tracking.record_open(message.id, DESKTOP_CHROME, HOME_IP, now=LATER)
    db.session.commit()
    db.session.expire_all()
    assert message.status == "bounced"
    assert message.open_at == LATER


def test_a_huge_user_agent_is_cut_to_a_sane_length(app: Flask) -> None:
    message = _sent_message()
    tracking.record_open(message.id, "A" * 100_000, HOME_IP, now=LATER)
    db.session.flush()
    assert len(_events(message, "opened")[0].user_agent or "") == tracking.MAX_USER_AGENT_LENGTH


def test_an_unknown_message_records_nothing(app: Flask) -> None:
    assert tracking.record_open("f" * 32, DESKTOP_CHROME, HOME_IP) is False
    assert tracking.record_click("f" * 32, "https://example.nl/") is False
    assert unsubscribing.unsubscribe("f" * 32).found is False
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MessageEvent)) == 0


def test_a_click_records_the_link_and_its_classification(app: Flask) -> None:
    message = _sent_message()
    tracking.record_click(message.id, "https://example.nl/", DESKTOP_CHROME, HOME_IP, now=LATER)
    tracking.record_click(message.id, "https://example.nl/", "curl/8.5.0", HOME_IP, now=LATER)
    db.session.flush()
    human, machine = _events(message, "clicked")
    assert human.meta == {"machine": False, "url": "https://example.nl/"}
    assert machine.meta == {
        "machine": True,
        "reason": "automated_client",
        "url": "https://example.nl/",
    }


# -- unsubscribe ---------------------------------------------------------------------------


def test_unsubscribe_suppresses_the_lead_and_cancels_its_queued_mails_everywhere(
    app: Flask,
) -> None:
    lead = make_lead()
    other_lead = make_lead()
    first = make_campaign(status="running")
    second = make_campaign(status="paused")
    message = _sent_message(lead=lead, campaign=first)
    follow_up = make_message(first, lead, mail_number=2, parent_message_id=message.id)
    elsewhere = make_message(second, lead)
    untouched = make_message(second, other_lead)
    db.session.commit()

    result = unsubscribing.unsubscribe(message.id, now=LATER)
    db.session.commit()
    db.session.expire_all()

    assert result.found and result.changed
    assert lead.status == "suppressed"
    suppression = db.session.scalars(sa.select(Suppression)).one()
    assert (suppression.email, suppression.reason) == (lead.email, "unsubscribed")
    assert (follow_up.status, elsewhere.status, untouched.status) == ("canceled",) * 2 + ("queued",)
    assert message.status == "sent"
    (event,) = _events(message, "unsubscribed")
    assert event.created_at == LATER
    assert other_lead.status == "active"


def test_unsubscribing_twice_has_the_same_result_and_one_event(app: Flask) -> None:
    lead = make_lead()
    campaign = make_campaign(status="running")
    message = _sent_message(lead=lead, campaign=campaign)
    second_mail = _sent_message(lead=lead, campaign=campaign, mail_number=2)
    db.session.commit()

    assert unsubscribing.unsubscribe(message.id).changed
    db.session.commit()
    assert not unsubscribing.unsubscribe(message.id).changed
    # The link of another mail to the same lead: also already done.
    assert not unsubscribing.unsubscribe(second_mail.id).changed
    db.session.commit()

    assert db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 1
    unsubscribed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(MessageEvent)
        .where(MessageEvent.event_type == "unsubscribed")
    )
    assert unsubscribed == 1


def test_unsubscribe_after_a_manual_suppression_records_the_wish_and_keeps_the_reason(
    app: Flask,
) -> None:
    lead = make_lead()
    message = _sent_message(lead=lead)
    db.session.add(Suppression(email=lead.email, reason="manual"))
    db.session.commit()

    assert unsubscribing.unsubscribe(message.id).changed
    db.session.commit()
    db.session.expire_all()
    assert db.session.scalars(sa.select(Suppression.reason)).all() == ["manual"]
    assert lead.status == "suppressed"
    assert len(_events(message, "unsubscribed")) == 1


def test_a_bounced_lead_stays_bounced_when_it_unsubscribes(app: Flask) -> None:
    lead = make_lead(status="bounced")
    message = _sent_message(lead=lead)
    db.session.commit()
    unsubscribing.unsubscribe(message.id)
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Lead, lead.id).status == "bounced"  # type: ignore[union-attr]


def test_is_unsubscribed_only_reads(app: Flask) -> None:
    message = _sent_message()
    db.session.commit()
    assert unsubscribing.is_unsubscribed(message.id) is False
    assert not db.session.new and not db.session.dirty
    unsubscribing.unsubscribe(message.id)
    db.session.commit()
    assert unsubscribing.is_unsubscribed(message.id) is True


# -- retention -----------------------------------------------------------------------------


def test_the_retention_job_removes_agents_and_ips_from_old_events_only(app: Flask) -> None:
    message = _sent_message()
    now = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
    old = make_event(
        message,
        "opened",
        user_agent=DESKTOP_CHROME,
        ip_address="203.0.113.0/24",
        meta={"machine": False},
        created_at=now - timedelta(days=91),
    )
    edge = make_event(
        message,
        "clicked",
        user_agent=DESKTOP_CHROME,
        ip_address="203.0.113.0/24",
        meta={"machine": False, "url": "https://example.nl/"},
        created_at=now - timedelta(days=89),
    )
    sent = make_event(message, "sent", created_at=now - timedelta(days=200))
    db.session.commit()

    assert purge_tracking_details(now, 90) == 1
    db.session.commit()
    assert purge_tracking_details(now, 90) == 0  # nothing left to remove
    db.session.expire_all()

    assert (old.user_agent, old.ip_address) == (None, None)
    assert old.meta == {"machine": False}  # the event itself, and its flag, stay
    assert (edge.user_agent, edge.ip_address) == (DESKTOP_CHROME, "203.0.113.0/24")
    assert sent.event_type == "sent"
    assert purge_tracking_details(now, 30) == 1


def test_the_retention_period_comes_from_the_configuration(app: Flask) -> None:
    message = _sent_message()
    now = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
    make_event(message, "opened", user_agent="x", created_at=now - timedelta(days=10))
    db.session.commit()
    assert purge_tracking_details(now) == 0
    app.config["EVENT_RETENTION_DAYS"] = 7
    try:
        assert purge_tracking_details(now) == 1
    finally:
        app.config.pop("EVENT_RETENTION_DAYS")


def test_the_purge_command_runs_the_retention_job(app: Flask) -> None:
    message = _sent_message()
    make_event(
        message,
        "opened",
        user_agent="x",
        ip_address="203.0.113.0/24",
        created_at=datetime(2020, 1, 1, tzinfo=UTC),
    )
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["tracking", "purge"])
    assert result.exit_code == 0, result.output
    assert "1 event(s) older than 90 day(s)" in result.output
    result = app.test_cli_runner().invoke(args=["tracking", "purge", "--days", "-1"])
    assert result.exit_code != 0
