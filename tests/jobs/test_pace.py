"""A real `flask worker`, on default settings, sends each mail on its slot.

The dispatcher used to look once a minute, so a domain paced at one mail per few
seconds sent one a minute. Here the worker runs with the default
DISPATCH_INTERVAL_SECONDS (a minute): only waking for each due mail, and for mail
planned while it sleeps, gets these mails out in the time the tests allow. How late
the mails are is measured in bench/pace.py, not asserted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.jobs.conftest import Workers, wait_until
from tests.sending_support import make_domain, make_running_campaign
from tests.support.services import RedisServer, SmtpCapture, start_smtp
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Message
from webapp.services.sending.rules import pace_gap

DEFAULT_DISPATCH_INTERVAL = "60"


def aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@pytest.fixture
def smtp_servers() -> Iterator[list[SmtpCapture]]:
    servers: list[SmtpCapture] = []
    yield servers
    for server in servers:
        server.stop()


def sent_rows(campaign_id: str) -> list[Message]:
    return list(
        db.session.execute(
            sa.select(Message)
            .where(Message.campaign_id == campaign_id, Message.status == "sent")
            .order_by(Message.domain_used, Message.sent_at)
        ).scalars()
    )


def test_a_worker_on_default_settings_sends_each_mail_on_its_slot(
    app: Flask, workers: Workers, smtp_servers: list[SmtpCapture]
) -> None:
    interval = 2
    domains = []
    for index in range(2):
        server = start_smtp()
        smtp_servers.append(server)
        domains.append(make_domain(f"zender{index}.nl", server.port, interval_seconds=interval))
    db.session.commit()
    campaign, _, messages = make_running_campaign(domains, leads=12)
    # Six slots per domain, two seconds apart, starting in a few seconds.
    first = utcnow() + timedelta(seconds=4)
    for index, message in enumerate(messages):
        message.scheduled_at = first + timedelta(seconds=interval * (index // 2))
    db.session.commit()

    workers.start(1, DISPATCH_INTERVAL_SECONDS=DEFAULT_DISPATCH_INTERVAL, SEND_LEASE_SECONDS="300")
    # A dispatcher on a fixed minute would need six minutes for six mails per domain.
    try:
        wait_until(lambda: len(sent_rows(campaign.id)) == 12, 60, "twelve mails on their slots")
    except AssertionError:
        print(workers.tail())
        raise

    rows = sent_rows(campaign.id)
    assert all(aware(row.sent_at) >= aware(row.scheduled_at) for row in rows)  # never early
    for domain in domains:
        times = [aware(row.sent_at) for row in rows if row.domain_used == domain.name]
        assert len(times) == 6
        gaps = [later - earlier for earlier, later in pairwise(times)]
        assert min(gaps) >= pace_gap(interval)
    assert sum(len(server.messages) for server in smtp_servers) == 12


@pytest.fixture
def wake_through_redis(app: Flask, redis_server: RedisServer) -> Iterator[None]:
    """Plans made in this process publish their wake on the workers' Redis."""
    app.config["REDIS_URL"] = redis_server.url
    yield
    app.config["REDIS_URL"] = None
    app.extensions.pop("wake_redis", None)


def test_mail_planned_while_the_worker_sleeps_wakes_it(
    app: Flask,
    workers: Workers,
    redis_server: RedisServer,
    smtp_servers: list[SmtpCapture],
    wake_through_redis: None,
) -> None:
    from redis import Redis

    from webapp.queue import wake_dispatcher_after_commit

    server = start_smtp()
    smtp_servers.append(server)
    domain = make_domain("punthelder-seo.nl", server.port, interval_seconds=2)
    db.session.commit()
    workers.start(1, DISPATCH_INTERVAL_SECONDS=DEFAULT_DISPATCH_INTERVAL, SEND_LEASE_SECONDS="300")
    # Its first pass finds nothing queued: it sleeps for the whole minute.
    redis = Redis.from_url(redis_server.url)
    wait_until(lambda: redis.exists("campaigns:pass:dispatch:next"), 30, "the first pass")

    wake_dispatcher_after_commit()  # as planning does
    campaign, _, _ = make_running_campaign([domain], leads=1)  # due now; commits

    try:
        wait_until(lambda: len(sent_rows(campaign.id)) == 1, 30, "the mail planned meanwhile")
    except AssertionError:
        print(workers.tail())
        raise
