"""Human timing: each mail goes at a moment inside its slot drawn from its id, the same
moment every time, and the dispatcher claims it then (on both databases), never sooner."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.sending_support import make_domain, make_running_campaign
from webapp.database import new_id, utcnow
from webapp.extensions import db
from webapp.models import Message
from webapp.services.planning import DomainCalendar, domain_spec, send_offset
from webapp.services.sending.dispatch import dispatch_once

SLOT = datetime(2026, 6, 3, 9, 20, tzinfo=UTC)
END = datetime(2026, 6, 3, 16, 0, tzinfo=UTC)


def test_the_offset_is_the_same_for_the_same_message() -> None:
    ids = [new_id() for _ in range(50)]
    first = [send_offset(i, SLOT, 1200, END) for i in ids]
    assert [send_offset(i, SLOT, 1200, END) for i in ids] == first


def test_offsets_spread_over_nine_tenths_of_the_slot() -> None:
    offsets = [send_offset(new_id(), SLOT, 1200, END).total_seconds() for _ in range(400)]
    assert all(0 <= s < 1080 for s in offsets)
    assert len(set(offsets)) > 300  # not all on one moment
    assert min(offsets) < 108 and max(offsets) > 972  # both ends of the slot are used


def test_a_last_slot_cut_short_by_the_window_stays_inside_it() -> None:
    end = SLOT + timedelta(minutes=5)
    offsets = [send_offset(new_id(), SLOT, 1200, end) for _ in range(200)]
    assert max(offsets) < timedelta(minutes=5)


@pytest.fixture(params=["postgresql", "sqlite"])
def any_app(request: pytest.FixtureRequest) -> Flask:
    fixture = "app" if request.param == "postgresql" else "sqlite_app"
    app: Flask = request.getfixturevalue(fixture)
    app.config["SEND_JITTER"] = True
    return app


def test_the_dispatcher_claims_a_mail_at_its_moment_in_the_slot(any_app: Flask) -> None:
    domains = [make_domain(f"tijd{n}.nl", 2525, 1200) for n in range(6)]
    _, _, messages = make_running_campaign(domains, leads=6)
    now = utcnow().replace(microsecond=0)
    calendars = {d.name: DomainCalendar(domain_spec(d)) for d in domains}
    for message in messages:
        message.scheduled_at = now
    db.session.commit()
    moments = {m.id: calendars[m.domain_used].send_moment(m.id, now) for m in messages}
    assert len(set(moments.values())) > 1

    # On the slot itself only mail whose moment is the slot's first second goes.
    first = dispatch_once(now, enqueue=False)
    early = {message_id for message_id, _ in first.claimed}
    assert early == {i for i, at in moments.items() if at <= now}
    # The pass says when the next mail's moment comes (the PostgreSQL claim works out the
    # same moment as Python does)...
    later = sorted(at for at in moments.values() if at > now)
    assert first.next_at == later[0]
    # ...and claims nothing a second before it.
    before = dispatch_once(later[0] - timedelta(seconds=1), enqueue=False)
    assert before.claimed == []
    claimed = set(early)
    for moment in later:
        claimed |= {message_id for message_id, _ in dispatch_once(moment, enqueue=False).claimed}
    assert claimed == set(moments)
    statuses = db.session.execute(sa.select(Message.status)).scalars().all()
    assert set(statuses) == {"sending"}


def test_without_jitter_mail_goes_on_its_slot(app: Flask) -> None:
    app.config["SEND_JITTER"] = False
    domain = make_domain("stipt.nl", 2525, 1200, window_start=time(0, 0), window_end=time(23, 59))
    _, _, messages = make_running_campaign([domain], leads=1)
    now = utcnow()
    messages[0].scheduled_at = now
    db.session.commit()
    assert [m for m, _ in dispatch_once(now, enqueue=False).claimed] == [messages[0].id]


def test_the_messages_list_shows_the_moment_the_dispatcher_sends(
    app: Flask, api_client: Any
) -> None:
    app.config["SEND_JITTER"] = True
    domains = [make_domain(f"moment{n}.nl", 2525, 1200) for n in range(6)]
    campaign, _, messages = make_running_campaign(domains, leads=6)
    now = utcnow().replace(microsecond=0)
    for message in messages:
        message.scheduled_at = now
    db.session.commit()
    client, headers = api_client("manager")
    body = client.get(f"/api/v1/campaigns/{campaign.id}/messages", headers=headers).json
    shown = {item["id"]: datetime.fromisoformat(item["send_at"]) for item in body["items"]}
    assert set(shown) == {m.id for m in messages}
    assert all(item["scheduled_at"] == now.isoformat() for item in body["items"])
    assert len(set(shown.values())) > 1  # not all on the slot itself
    claimed: set[str] = set()
    for message_id, moment in sorted(shown.items(), key=lambda item: item[1]):
        claimed |= {
            i for i, _ in dispatch_once(moment - timedelta(seconds=1), enqueue=False).claimed
        }
        assert message_id not in claimed  # nothing goes before the moment shown...
        claimed |= {i for i, _ in dispatch_once(moment, enqueue=False).claimed}
        assert message_id in claimed  # ...and it goes at it
