"""Real worker processes racing, crashing and losing Redis: each mail goes out at most once.

Every test here starts `flask --app wsgi worker` subprocesses against the test
database, a real Redis and real SMTP servers, then looks at what the servers
received and what the database recorded.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.jobs.conftest import Workers, settled, status_counts, wait_until
from tests.sending_support import make_domain, make_running_campaign
from tests.support.services import RedisServer, SmtpCapture, start_smtp
from webapp.extensions import db
from webapp.models import Message
from webapp.services.sending.rules import pace_gap


@pytest.fixture
def smtp_servers() -> Iterator[list[SmtpCapture]]:
    servers: list[SmtpCapture] = []
    yield servers
    for server in servers:
        server.stop()


def domains_with_servers(count: int, servers: list[SmtpCapture], interval: int = 1) -> list:
    domains = []
    for index in range(count):
        server = start_smtp()
        servers.append(server)
        domains.append(make_domain(f"zender{index:03d}.nl", server.port, interval))
    db.session.commit()
    return domains


def received(servers: list[SmtpCapture]) -> Counter[str]:
    return Counter(
        f"{mail.rcpt_tos[0]}|{mail.message['X-Campaign-Message-ID']}"
        for server in servers
        for mail in server.messages
    )


def test_four_workers_racing_over_a_thousand_mails_send_each_once_at_the_domains_pace(
    app: Flask, workers: Workers, smtp_servers: list[SmtpCapture]
) -> None:
    domains = domains_with_servers(50, smtp_servers, interval=1)
    _campaign, _leads, _messages = make_running_campaign(domains, leads=1000)
    workers.start(4)
    try:
        wait_until(settled, 300, "1,000 mails to go out")
    except AssertionError:
        print(workers.tail())
        raise
    assert status_counts() == {"sent": 1000}
    copies = received(smtp_servers)
    assert len(copies) == 1000
    assert max(copies.values()) == 1
    addresses = Counter(mail.rcpt_tos[0] for s in smtp_servers for mail in s.messages)
    assert max(addresses.values()) == 1

    rows = db.session.execute(
        sa.select(Message.domain_used, Message.sent_at).order_by(
            Message.domain_used, Message.sent_at
        )
    ).all()
    gaps: dict[str, list[float]] = {}
    previous: dict[str, object] = {}
    for domain, sent_at in rows:
        if domain in previous:
            gaps.setdefault(domain, []).append((sent_at - previous[domain]).total_seconds())
        previous[domain] = sent_at
    assert len(gaps) == 50
    # A tenth of the interval of tolerance, so one late send does not delay all after it.
    assert min(min(values) for values in gaps.values()) >= pace_gap(1).total_seconds()


@pytest.mark.parametrize(
    ("failpoint", "expected"),
    [
        # Killed before the send started: the claim is lost, queued again, sent once.
        ("before_start", {"sent": 2}),
        # Killed after the server's 250, before the commit: delivered once, uncertain.
        ("after_smtp", {"sent": 1, "uncertain": 1}),
        # Killed after the commit: nothing left to do.
        ("after_commit", {"sent": 2}),
    ],
)
def test_a_worker_killed_mid_send_never_sends_twice(
    app: Flask,
    workers: Workers,
    smtp_server: SmtpCapture,
    tmp_path: Path,
    failpoint: str,
    expected: dict[str, int],
) -> None:
    domain = make_domain("punthelder-seo.nl", smtp_server.port, interval_seconds=1)
    db.session.commit()
    make_running_campaign([domain], leads=2)
    marker = tmp_path / failpoint
    (victim,) = workers.start(CAMPAIGNS_FAILPOINTS=failpoint, CAMPAIGNS_FAILPOINT_DIR=str(tmp_path))
    wait_until(marker.exists, 30, f"the worker to reach {failpoint}")
    workers.kill(victim)
    workers.start(1)
    try:
        wait_until(settled, 60, "the remaining mail to settle")
    except AssertionError:
        print(workers.tail())
        raise
    assert status_counts() == expected
    copies = received([smtp_server])
    assert len(copies) == 2
    assert max(copies.values()) == 1
    assert status_counts().get("sending") is None


def test_flushing_redis_mid_campaign_loses_no_mail_and_sends_none_twice(
    app: Flask,
    workers: Workers,
    redis_server: RedisServer,
    smtp_servers: list[SmtpCapture],
) -> None:
    from redis import Redis

    domains = domains_with_servers(10, smtp_servers)
    make_running_campaign(domains, leads=60)
    workers.start(2)
    wait_until(lambda: status_counts().get("sent", 0) >= 15, 60, "the first mails")
    Redis.from_url(redis_server.url).flushall()
    try:
        wait_until(settled, 120, "every mail after the flush")
    except AssertionError:
        print(workers.tail())
        raise
    assert status_counts() == {"sent": 60}
    copies = received(smtp_servers)
    assert len(copies) == 60
    assert max(copies.values()) == 1


def test_cutting_the_database_connections_mid_run_the_workers_recover(
    app: Flask, workers: Workers, smtp_servers: list[SmtpCapture]
) -> None:
    domains = domains_with_servers(10, smtp_servers)
    make_running_campaign(domains, leads=60)
    workers.start(2)
    wait_until(lambda: status_counts().get("sent", 0) >= 15, 60, "the first mails")
    db.session.execute(
        sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    )
    db.session.commit()
    try:
        wait_until(settled, 120, "every mail after the cut")
    except AssertionError:
        print(workers.tail())
        raise
    counts = status_counts()
    # A send whose outcome could not be written is uncertain, never repeated.
    assert counts.get("sent", 0) + counts.get("uncertain", 0) == 60
    assert counts.get("sent", 0) >= 55
    copies = received(smtp_servers)
    assert max(copies.values()) == 1
    arrived = {key.split("|")[1] for key in copies}
    sent = set(db.session.scalars(sa.select(Message.id).where(Message.status == "sent")))
    assert sent <= arrived
    # An uncertain mail usually went out, its outcome lost with the connection; it did not
    # if the cut took the acknowledgement of its start's commit. Either way, never twice.
    uncertain = set(db.session.scalars(sa.select(Message.id).where(Message.status == "uncertain")))
    assert arrived <= sent | uncertain


def test_pause_resume_and_stop_mid_campaign(
    app: Flask, workers: Workers, smtp_servers: list[SmtpCapture]
) -> None:
    from webapp.database import utcnow
    from webapp.models import Campaign
    from webapp.services.campaigns.lifecycle import apply_action

    domains = domains_with_servers(4, smtp_servers)
    paused, _, _ = make_running_campaign(domains, leads=40)
    # A second campaign on the same domains shows the workers keep working meanwhile.
    witness, _, _ = make_running_campaign(domains, leads=40)
    workers.start(2)
    wait_until(lambda: status_counts(paused.id).get("sent", 0) >= 6, 60, "the first mails")

    def act(action: str) -> None:
        campaign = db.session.get(Campaign, paused.id)
        apply_action(campaign, action, None, utcnow())
        db.session.commit()

    act("pause")
    wait_until(lambda: not status_counts(paused.id).get("sending"), 30, "in-flight mail")
    held = status_counts(paused.id).get("sent", 0)
    queued = status_counts(paused.id)["queued"]
    witness_sent = status_counts(witness.id).get("sent", 0)
    wait_until(
        lambda: status_counts(witness.id).get("sent", 0) >= witness_sent + 8,
        60,
        "the other campaign to go on sending",
    )
    assert status_counts(paused.id) == {"sent": held, "queued": queued}  # pause keeps them

    act("resume")
    wait_until(lambda: status_counts(paused.id).get("sent", 0) >= held + 6, 60, "the resume")

    act("stop")
    wait_until(lambda: not status_counts(paused.id).get("sending"), 30, "in-flight mail")
    counts = status_counts(paused.id)
    assert counts.get("queued") is None
    assert counts["sent"] + counts["canceled"] == 40
    assert counts["canceled"] > 0
    wait_until(settled, 120, "the other campaign to finish")
    assert status_counts(witness.id) == {"sent": 40}
    copies = received(smtp_servers)
    assert len(copies) == counts["sent"] + 40
    assert max(copies.values()) == 1
