"""One dispatcher pass claims for every domain that may send, in a fixed number of
statements on PostgreSQL, and keeps every rule of the claim on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time, timedelta

import psycopg
import pytest
import sqlalchemy as sa
from flask import Flask

from tests.sending_support import make_domain, make_running_campaign
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Message, SendingDomain
from webapp.services.sending import dispatch
from webapp.services.sending.dispatch import RECHECK, dispatch_once


@pytest.fixture(params=["postgresql", "sqlite"])
def any_app(request: pytest.FixtureRequest) -> Flask:
    """The claim's rules hold on PostgreSQL (one statement) and SQLite (domain by domain)."""
    fixture = "app" if request.param == "postgresql" else "sqlite_app"
    app: Flask = request.getfixturevalue(fixture)
    return app


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_: object) -> None:
        self.count += 1


@pytest.fixture
def statements(app: Flask) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    sa.event.listen(db.engine, "before_cursor_execute", counter)
    yield counter
    sa.event.remove(db.engine, "before_cursor_execute", counter)


def due_domains(count: int, prefix: str) -> list[str]:
    """`count` domains at a 60 s pace, each with one due mail; the mails' ids."""
    domains = [make_domain(f"{prefix}{n:03d}.nl", 2525, 60) for n in range(count)]
    _, _, messages = make_running_campaign(domains, leads=count)
    return [message.id for message in messages]


def test_a_pass_runs_as_many_statements_for_200_due_domains_as_for_5(
    app: Flask, statements: StatementCounter
) -> None:
    few = due_domains(5, "klein")
    statements.count = 0
    claimed = dispatch_once(utcnow(), enqueue=False).claimed
    for_few = statements.count
    assert sorted(message_id for message_id, _ in claimed) == sorted(few)

    db.session.execute(sa.update(Message).values(status="sent"))
    db.session.commit()
    many = due_domains(200, "groot")
    statements.count = 0
    claimed = dispatch_once(utcnow(), enqueue=False).claimed

    assert sorted(message_id for message_id, _ in claimed) == sorted(many)
    assert statements.count == for_few


def test_one_pass_claims_for_each_open_domain_and_no_other(any_app: Flask) -> None:
    names = ["open", "shut", "paced", "busy", "paused-campaign", "waiting", "paused", "later"]
    domains = {name: make_domain(f"{name}.nl", 2525, 60) for name in names}
    _, _, messages = make_running_campaign(list(domains.values()), leads=len(names))
    mail = {message.domain_used.removesuffix(".nl"): message for message in messages}
    now = utcnow()

    domains["shut"].window_start, domains["shut"].window_end = time(2, 0), time(3, 0)
    domains["paced"].last_sent_at = now - timedelta(seconds=30)
    domains["paused"].paused = True
    mail["busy"].status = "sending"  # claimed earlier, its job not yet done
    mail["busy"].claimed_at = now
    mail["later"].scheduled_at = now + timedelta(minutes=3)
    # A paused campaign's mail, and a follow-up whose first mail's fate is unknown.
    other, _, (stopped,) = make_running_campaign([domains["paused-campaign"]], leads=1)
    other.status = "paused"
    db.session.delete(mail["paused-campaign"])
    _, _, (first, followup) = make_running_campaign([domains["waiting"]], leads=1, steps=2)
    first.status = "uncertain"
    db.session.delete(mail["waiting"])
    db.session.commit()

    result = dispatch_once(now, enqueue=False)

    ((message_id, token),) = result.claimed
    assert message_id == mail["open"].id
    db.session.expire_all()
    claimed = db.session.get(Message, message_id)
    assert (claimed.status, claimed.claim_token) == ("sending", token)
    for untouched in (mail["shut"], mail["paced"], mail["later"], stopped, followup):
        assert db.session.get(Message, untouched.id).status == "queued"
    # The busy domain is looked at again within a second; the rest wait longer.
    assert result.next_at == now + RECHECK


def test_the_next_pass_is_due_at_the_earliest_gate_slot_or_window(any_app: Flask) -> None:
    paced = make_domain("paced.nl", 2525, 60)
    later = make_domain("later.nl", 2525, 60)
    _, _, (first, second) = make_running_campaign([paced, later], leads=2)
    now = utcnow()
    paced.last_sent_at = now - timedelta(seconds=50)  # its gate opens in 8 s
    second.scheduled_at = now + timedelta(seconds=5)
    db.session.commit()

    result = dispatch_once(now, enqueue=False)

    assert result.claimed == []
    assert result.next_at == now + timedelta(seconds=5)
    assert first.domain_used == "paced.nl"


def test_a_domain_another_dispatcher_holds_is_skipped_and_looked_at_again_soon(
    app: Flask, database_url: str
) -> None:
    held, free = (make_domain(f"{name}.nl", 2525, 60) for name in ("held", "free"))
    _, _, (held_mail, free_mail) = make_running_campaign([held, free], leads=2)
    with psycopg.connect(database_url) as other:
        other.execute("SELECT 1 FROM sending_domains WHERE id = %s FOR UPDATE", (held.id,))
        now = utcnow()
        result = dispatch_once(now, enqueue=False)

    assert [message_id for message_id, _ in result.claimed] == [free_mail.id]
    assert db.session.get(Message, held_mail.id).status == "queued"
    assert result.next_at == now + RECHECK


def test_a_domain_edited_between_reading_and_claiming_waits_for_the_next_pass(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    domain = make_domain("punthelder-seo.nl", 2525, 60)
    _, _, (message,) = make_running_campaign([domain], leads=1)
    read_domains = dispatch._active_domains

    def read_then_shut_the_window() -> object:
        rows = read_domains()
        with db.engine.connect() as other:  # someone edits the domain meanwhile
            other.execute(
                sa.update(SendingDomain).values(window_start=time(2, 0), window_end=time(3, 0))
            )
            other.commit()
        return rows

    monkeypatch.setattr(dispatch, "_active_domains", read_then_shut_the_window)
    now = utcnow()
    result = dispatch_once(now, enqueue=False)

    assert result.claimed == []
    assert db.session.get(Message, message.id).status == "queued"
    assert result.next_at == now + RECHECK
