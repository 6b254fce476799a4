"""The dispatcher says when it next has work, and the scheduler wakes for exactly that.

A pass reports `next_at`: the next mail's slot, the moment a domain's pace gate
reopens, or its window opens. The worker sleeps until then instead of a fixed minute,
and planning new mail wakes it at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.factories import make_lead, make_template
from tests.sending_support import make_domain, make_running_campaign
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Message, SendingDomain
from webapp.services.campaigns.lifecycle import apply_action, create_campaign
from webapp.services.planning import DomainCalendar
from webapp.services.planning.slots import DomainSpec
from webapp.services.sending.dispatch import dispatch_once
from webapp.services.sending.rules import pace_gap, pace_tolerance
from webapp.services.sending.send import send_claimed_message
from webapp.worker import Periodic, Scheduler, dispatch_pass, next_dispatch_in

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(autouse=True)
def outbox(app: Flask, tmp_path: Path) -> Iterator[None]:
    """Sends in these tests go to a throwaway outbox."""
    previous = app.config["OUTBOX_DIR"]
    app.config["OUTBOX_DIR"] = str(tmp_path)
    yield
    app.config["OUTBOX_DIR"] = previous


def at(moment: datetime) -> datetime:
    """A database time, as comparable to an aware one."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def reschedule(messages: list[Message], first: datetime, step: timedelta) -> None:
    for index, message in enumerate(messages):
        message.scheduled_at = first + index * step
    db.session.commit()


# --- when the window opens -------------------------------------------------------------


def amsterdam(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), AMSTERDAM).astimezone(UTC)


@pytest.mark.parametrize(
    ("moment", "opens"),
    [
        # Inside the window: now.
        (amsterdam(date(2026, 3, 4), 11, 30), amsterdam(date(2026, 3, 4), 11, 30)),
        # Before it: at nine the same day.
        (amsterdam(date(2026, 3, 4), 6), amsterdam(date(2026, 3, 4), 9)),
        # At its end (the end is not in it): nine the next working day.
        (amsterdam(date(2026, 3, 4), 18), amsterdam(date(2026, 3, 5), 9)),
        # Friday evening and Saturday: Monday at nine.
        (amsterdam(date(2026, 3, 6), 19), amsterdam(date(2026, 3, 9), 9)),
        (amsterdam(date(2026, 3, 7), 12), amsterdam(date(2026, 3, 9), 9)),
        # King's Day 2026 is a Monday: Tuesday.
        (amsterdam(date(2026, 4, 27), 10), amsterdam(date(2026, 4, 28), 9)),
        # The night the clocks go forward: nine in summer time, 07:00 UTC.
        (amsterdam(date(2026, 3, 27), 20), datetime(2026, 3, 30, 7, 0, tzinfo=UTC)),
    ],
)
def test_the_calendar_says_when_the_window_next_opens(moment: datetime, opens: datetime) -> None:
    calendar = DomainCalendar(DomainSpec(name="punthelder-seo.nl"))
    assert calendar.window_open_at(moment) == opens


def test_a_calendar_without_working_days_never_opens() -> None:
    calendar = DomainCalendar(DomainSpec(name="punthelder-seo.nl", working_days=()))
    assert calendar.window_open_at(amsterdam(date(2026, 3, 4), 10)) is None


# --- the pace and its tolerance --------------------------------------------------------


def test_the_pace_tolerance_is_a_tenth_of_the_interval_and_at_most_two_seconds() -> None:
    assert pace_tolerance(10) == timedelta(seconds=1)
    assert pace_tolerance(60) == timedelta(seconds=2)
    assert pace_tolerance(1200) == timedelta(seconds=2)
    assert pace_gap(1) == timedelta(seconds=0.9)


def test_a_send_may_start_within_the_tolerance_of_its_interval_but_no_sooner(
    app: Flask,
) -> None:
    domain = make_domain("punthelder-seo.nl", 2525, interval_seconds=10)
    make_running_campaign([domain], leads=2)

    domain.last_sent_at = utcnow() - timedelta(seconds=8.5)  # the gate opens in 0.5 s
    db.session.commit()
    early = dispatch_once(utcnow(), enqueue=False)
    assert early.claimed == []
    assert early.next_at == at(domain.last_sent_at) + timedelta(seconds=9)

    domain.last_sent_at = utcnow() - timedelta(seconds=9.2)  # one slot, 0.8 s late
    db.session.commit()
    claimed = dispatch_once(utcnow(), enqueue=False).claimed
    assert len(claimed) == 1
    assert send_claimed_message(*claimed[0]) == "sent"


def test_the_send_job_refuses_to_start_before_the_pace_gap(app: Flask) -> None:
    domain = make_domain("punthelder-seo.nl", 2525, interval_seconds=10)
    make_running_campaign([domain], leads=1)
    claimed = dispatch_once(utcnow(), enqueue=False).claimed
    # Another send took the gate between the claim and the start.
    db.session.execute(
        sa.update(SendingDomain).values(last_sent_at=utcnow() - timedelta(seconds=8))
    )
    db.session.commit()
    assert send_claimed_message(*claimed[0]) == "paced"
    assert db.session.get(Message, claimed[0][0]).status == "queued"


# --- what a pass says about the next one -----------------------------------------------


def test_an_idle_pass_says_when_the_next_mail_falls_due(app: Flask) -> None:
    domain = make_domain("punthelder-seo.nl", 2525, interval_seconds=10)
    _, _, messages = make_running_campaign([domain], leads=2)
    first = utcnow() + timedelta(seconds=30)
    reschedule(messages, first, timedelta(seconds=10))

    result = dispatch_once(utcnow(), enqueue=False)

    assert result.claimed == []
    assert result.next_at == first


def test_nothing_queued_means_no_next_pass_is_known(app: Flask) -> None:
    make_domain("punthelder-seo.nl", 2525)
    db.session.commit()
    assert dispatch_once(utcnow(), enqueue=False).next_at is None


def test_after_a_claim_the_next_pass_is_due_when_the_pace_gate_reopens(app: Flask) -> None:
    domain = make_domain("punthelder-seo.nl", 2525, interval_seconds=10)
    make_running_campaign([domain], leads=3)
    now = utcnow()

    claimed = dispatch_once(now, enqueue=False)
    assert len(claimed.claimed) == 1
    assert claimed.next_at == now + timedelta(seconds=9)

    assert send_claimed_message(*claimed.claimed[0]) == "sent"
    db.session.expire_all()
    gate = at(db.session.get(SendingDomain, domain.id).last_sent_at) + timedelta(seconds=9)
    assert dispatch_once(gate - timedelta(seconds=1), enqueue=False).next_at == gate
    assert len(dispatch_once(gate, enqueue=False).claimed) == 1


def test_a_domain_outside_its_window_is_due_when_the_window_opens(app: Flask) -> None:
    domain = make_domain("punthelder-seo.nl", 2525, window_start=time(2, 0), window_end=time(3, 0))
    make_running_campaign([domain], leads=1)  # due, but it is about noon there
    now = utcnow()

    result = dispatch_once(now, enqueue=False)

    assert result.claimed == []
    zone = ZoneInfo(domain.timezone)
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    assert result.next_at == datetime.combine(tomorrow, time(2, 0), zone).astimezone(UTC)


def test_mail_of_a_paused_campaign_does_not_keep_the_dispatcher_busy(app: Flask) -> None:
    domain = make_domain("punthelder-seo.nl", 2525, interval_seconds=10)
    paused, _, _ = make_running_campaign([domain], leads=2)  # due five minutes ago
    paused.status = "paused"
    _, _, running = make_running_campaign([domain], leads=1)
    later = utcnow() + timedelta(minutes=2)
    reschedule(running, later, timedelta(0))

    result = dispatch_once(utcnow(), enqueue=False)

    assert result.claimed == []
    assert result.next_at == later


def test_a_follow_up_waiting_on_an_uncertain_mail_does_not_keep_it_busy(app: Flask) -> None:
    domain = make_domain("punthelder-seo.nl", 2525, interval_seconds=10)
    _, _, (first, followup) = make_running_campaign([domain], leads=1, steps=2)
    first.status = "uncertain"
    db.session.commit()

    result = dispatch_once(utcnow(), enqueue=False)

    assert result.claimed == []
    assert result.next_at is None  # nothing it could send until someone decides
    assert followup.status == "queued"


def test_a_busy_domain_is_looked_at_again_within_a_second(app: Flask) -> None:
    domain = make_domain("punthelder-seo.nl", 2525, interval_seconds=10)
    make_running_campaign([domain], leads=2)
    dispatch_once(utcnow(), enqueue=False)  # one claimed, never started
    db.session.execute(sa.update(SendingDomain).values(last_sent_at=None))
    db.session.commit()
    now = utcnow()

    result = dispatch_once(now, enqueue=False)

    assert result.claimed == []
    assert result.next_at == now + timedelta(seconds=1)


# --- waking the dispatcher -------------------------------------------------------------


@pytest.fixture
def wakes(app: Flask) -> Iterator[list[str]]:
    """Records every wake this process's dispatcher would get."""
    calls: list[str] = []
    wakers = app.extensions.setdefault("dispatch_wakers", [])
    wakers.append(lambda: calls.append("wake"))
    yield calls
    wakers.pop()


def draft(app: Flask) -> object:
    from webapp.services.domains import seed_default_domains

    seed_default_domains()
    template = make_template(steps=1)
    for _ in range(3):
        make_lead(list_name="mkb")
    db.session.commit()
    return create_campaign(
        {"name": "Voorjaar", "template_id": template.id, "audience": {"list_names": ["mkb"]}},
        None,
        utcnow(),
    )


def test_starting_a_campaign_wakes_the_dispatcher_once_it_is_committed(
    app: Flask, wakes: list[str]
) -> None:
    campaign = draft(app)
    db.session.commit()
    wakes.clear()

    apply_action(campaign, "start", None, utcnow())
    assert wakes == []  # the plan is not visible to a dispatcher yet
    db.session.commit()

    assert wakes == ["wake"]


def test_a_start_rolled_back_wakes_nobody(app: Flask, wakes: list[str]) -> None:
    campaign = draft(app)
    db.session.commit()
    wakes.clear()

    apply_action(campaign, "start", None, utcnow())
    db.session.rollback()
    db.session.commit()

    assert wakes == []


def test_pausing_and_resuming_a_domain_wakes_the_dispatcher(app: Flask, wakes: list[str]) -> None:
    from webapp.services.domains import update_domain

    domain = make_domain("punthelder-seo.nl", 2525, paused=True)
    db.session.commit()
    update_domain(domain, {"paused": False})
    db.session.commit()
    assert wakes == ["wake"]


# --- the scheduler ---------------------------------------------------------------------


def sent(message_ids: list[str]) -> list[Message]:
    db.session.expire_all()
    rows = db.session.execute(sa.select(Message).where(Message.id.in_(message_ids))).scalars()
    return [row for row in rows if row.status == "sent"]


def wait_for(check: Callable[[], bool], timeout: float) -> bool:
    import time as clock

    deadline = clock.monotonic() + timeout
    while clock.monotonic() < deadline:
        if check():
            return True
        clock.sleep(0.05)
    return check()


@pytest.fixture
def scheduler(app: Flask) -> Iterator[Scheduler]:
    """The dispatcher alone on a scheduler thread, sleeping up to a minute between passes."""
    running = Scheduler(app, [Periodic("dispatch", 60, dispatch_pass, due_in=next_dispatch_in)])
    yield running
    running.stop()
    running.thread.join(timeout=10)
    app.extensions["dispatch_wakers"] = []


def test_the_scheduler_sends_each_mail_on_its_slot_not_on_the_minute(
    app: Flask, scheduler: Scheduler
) -> None:
    domain = make_domain("punthelder-seo.nl", 2525, interval_seconds=1)
    _, _, messages = make_running_campaign([domain], leads=3)
    first = utcnow() + timedelta(seconds=1)
    reschedule(messages, first, timedelta(seconds=1))
    ids = [message.id for message in messages]

    scheduler.start()

    # Three slots a second apart, with passes at most a minute apart: only waking for
    # each slot sends them all within the minute.
    assert wait_for(lambda: len(sent(ids)) == 3, timeout=30)
    for message in sent(ids):
        assert at(message.sent_at) >= at(message.scheduled_at)


def test_mail_planned_while_the_scheduler_sleeps_wakes_it(app: Flask, scheduler: Scheduler) -> None:
    from webapp.queue import wake_dispatcher_after_commit

    domain = make_domain("punthelder-seo.nl", 2525, interval_seconds=1)
    db.session.commit()
    scheduler.start()
    # The first pass finds nothing queued and sleeps for its full minute.
    assert wait_for(lambda: scheduler.passes[0].next_at > 0, timeout=10)

    wake_dispatcher_after_commit()  # as planning does
    _, _, messages = make_running_campaign([domain], leads=1)  # commits

    assert wait_for(lambda: len(sent([messages[0].id])) == 1, timeout=30)
