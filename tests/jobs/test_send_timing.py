"""Human timing with a real `flask worker`: each mail goes at its own moment inside its
slot, a domain's sends stay a full interval apart, and nothing goes twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise

import pytest
from flask import Flask

from tests.jobs.conftest import Workers, wait_until
from tests.jobs.test_pace import aware, sent_rows
from tests.sending_support import make_domain, make_running_campaign
from tests.support.services import SmtpCapture, start_smtp
from webapp.database import utcnow
from webapp.extensions import db
from webapp.services.planning import DomainCalendar, domain_spec


@pytest.fixture
def smtp_server() -> Iterator[SmtpCapture]:
    server = start_smtp()
    yield server
    server.stop()


def test_sends_land_inside_their_slots_a_full_interval_apart(
    app: Flask, workers: Workers, smtp_server: SmtpCapture
) -> None:
    interval = 3
    domains = [make_domain(f"mens{k}.nl", smtp_server.port, interval) for k in range(2)]
    db.session.commit()
    campaign, _, messages = make_running_campaign(domains, leads=12)
    first = utcnow().replace(microsecond=0) + timedelta(seconds=4)
    for index, message in enumerate(messages):
        message.scheduled_at = first + timedelta(seconds=interval * (index // 2))
    db.session.commit()
    calendars = {d.name: DomainCalendar(domain_spec(d)) for d in domains}
    moments = {m.id: calendars[m.domain_used].send_moment(m.id, m.scheduled_at) for m in messages}
    assert len({moments[m.id] - m.scheduled_at for m in messages}) > 1  # not all on the slot

    workers.start(2, SEND_JITTER="1")
    try:
        wait_until(lambda: len(sent_rows(campaign.id)) == 12, 90, "twelve mails sent")
    except AssertionError:
        print(workers.tail())
        raise

    rows = sent_rows(campaign.id)
    for row in rows:
        assert aware(row.sent_at) >= moments[row.id]  # never before its moment in the slot
    for domain in domains:
        times = [aware(row.sent_at) for row in rows if row.domain_used == domain.name]
        assert len(times) == 6
        assert all(b - a >= timedelta(seconds=interval) for a, b in pairwise(times))
    # Each mail went once.
    assert len(smtp_server.messages) == 12
    ids = [m.message["X-Campaign-Message-ID"] for m in smtp_server.messages]
    assert sorted(ids) == sorted(m.id for m in messages)
