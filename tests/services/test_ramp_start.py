"""A warm-up ramp starts with the domain's first mail sent, not the day it was set up: until
then planning, availability and the dry run start it on the first day a mail can go."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask

from tests.sending_support import make_domain, make_running_campaign
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Message, SendingDomain
from webapp.services.domains import get_domain, seed_default_domains
from webapp.services.planning.availability import domain_availability
from webapp.services.planning.planner import DomainSpec, PlanSettings, fresh_leads, plan
from webapp.services.sending.dispatch import dispatch_once
from webapp.services.sending.send import send_claimed_message

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def per_day(spec: DomainSpec, start: datetime, settings: PlanSettings, leads: int) -> list:
    result = plan([spec], {}, fresh_leads([str(i) for i in range(leads)], 1), settings, start)
    zone = ZoneInfo(spec.timezone)
    return sorted(Counter(m.scheduled_at.astimezone(zone).date() for m in result).items())


def test_a_ramp_set_up_weeks_before_the_first_mail_still_warms_the_domain_up() -> None:
    """20 a day, growing by 10 a working day to 50, set up long ago and never sent under."""
    spec = DomainSpec("v1.example", interval_seconds=60, daily_cap=50, ramp_start=20, ramp_step=10)
    monday = datetime(2026, 6, 22, 5, 0, tzinfo=UTC)
    assert per_day(spec, monday, PlanSettings(), 150) == [
        (date(2026, 6, 22), 20),
        (date(2026, 6, 23), 30),
        (date(2026, 6, 24), 40),
        (date(2026, 6, 25), 50),
        (date(2026, 6, 26), 10),
    ]
    # A campaign that starts later starts the ramp on its own first working day (a Saturday
    # start: Monday is the ramp's first day).
    later = PlanSettings(start_at=datetime(2026, 7, 4, 8, 0, tzinfo=UTC))
    assert per_day(spec, monday, later, 60)[:2] == [(date(2026, 7, 6), 20), (date(2026, 7, 7), 30)]
    # A ramp that began three weeks ago (the domain sent then) is at its cap.
    begun = DomainSpec(**{**spec.__dict__, "ramp_started_on": date(2026, 6, 1)})
    assert per_day(begun, monday, PlanSettings(), 150) == [
        (date(2026, 6, 22), 50),
        (date(2026, 6, 23), 50),
        (date(2026, 6, 24), 50),
    ]


def test_availability_starts_a_waiting_ramp_today(app: Flask) -> None:
    seed_default_domains()
    v3 = get_domain("punthelder-seo.nl")
    assert v3 is not None
    v3.daily_cap, v3.ramp_start, v3.ramp_step = 20, 5, 5
    db.session.flush()
    tuesday = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)

    row = {r["domain"]: r for r in domain_availability(tuesday)}["punthelder-seo.nl"]

    capacity = row["capacity"]
    days = ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04", "2026-12-07"]
    assert [capacity[d] for d in days] == [5, 10, 15, 20, 20]
    assert row["warm_up"]["ramp_waits"] is True
    assert row["slots"]["today"] == 5


def test_the_first_mail_sent_under_a_new_ramp_starts_it(app: Flask, tmp_path: Path) -> None:
    app.config["OUTBOX_DIR"] = str(tmp_path)
    waiting = make_domain("opwarmen.nl", 1, daily_cap=20, ramp_start=5, ramp_step=5)
    begun = make_domain(
        "gestart.nl", 1, daily_cap=20, ramp_start=5, ramp_step=5, ramp_started_on=date(2026, 1, 5)
    )
    plain = make_domain("gewoon.nl", 1)
    make_running_campaign([waiting, begun, plain], leads=3)
    try:
        claimed = dispatch_once(utcnow(), enqueue=False).claimed
        assert len(claimed) == 3
        assert [send_claimed_message(*claim) for claim in claimed] == ["sent"] * 3
    finally:
        app.config["OUTBOX_DIR"] = "instance/outbox"
    db.session.expire_all()

    started = {
        d.name: d.ramp_started_on for d in db.session.execute(sa.select(SendingDomain)).scalars()
    }
    sent_at = db.session.execute(
        sa.select(Message.sent_at).where(Message.domain_used == "opwarmen.nl")
    ).scalar_one()
    assert started["opwarmen.nl"] == sent_at.astimezone(ZoneInfo(waiting.timezone)).date()
    assert started["gestart.nl"] == date(2026, 1, 5)  # a ramp under way keeps its day
    assert started["gewoon.nl"] is None  # no ramp, no start
