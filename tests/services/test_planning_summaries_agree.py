"""Availability and the dry run read the booking summary and only the bookings they can
collide with; on random data they answer exactly what the full reads of every booking did
(the reference functions below are those full reads, kept as they were)."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.factories import make_campaign, make_lead, make_template
from webapp.extensions import db
from webapp.models import Campaign, CampaignAudience, Message, SendingDomain
from webapp.services.planning.availability import domain_availability, working_days_ahead
from webapp.services.planning.caps import pace_line
from webapp.services.planning.planner import PlanSettings, fresh_leads, plan
from webapp.services.planning.plans import (
    LIVE,
    Booking,
    PlanRequest,
    Prepared,
    campaign_messages,
    domain_spec,
    list_domains,
    persist_plan,
    plan_request_for,
    prepare,
    running_campaign_counts,
)
from webapp.services.planning.report import build_report, iso, written_report
from webapp.services.planning.slots import DomainCalendar, DomainSpec, PlanError, SlotCursor

AMS = ZoneInfo("Europe/Amsterdam")


# -- the full reads, as they were ---------------------------------------------------------


def reference_taken_slots(
    domains: list[SendingDomain], now: datetime, campaign_id: str | None = None
) -> dict[str, list[Booking]]:
    if not domains:
        return {}
    interval = {d.name: timedelta(seconds=d.interval_seconds) for d in domains}
    since = now - max(interval.values())
    rows = db.session.execute(
        sa.select(
            Message.domain_used,
            Message.scheduled_at,
            Message.sent_at,
            Message.status,
            Message.campaign_id,
        ).where(
            Message.domain_used.in_(list(interval)),
            sa.or_(
                sa.and_(Message.status.in_(LIVE), Message.scheduled_at >= since),
                Message.sent_at >= since,
            ),
        )
    )
    taken: dict[str, list[Booking]] = {name: [] for name in interval}
    for name, scheduled_at, sent_at, status, owner in rows:
        own = owner == campaign_id
        if status in LIVE and not (own and status == "queued"):
            taken[name].append(Booking(scheduled_at, owner, not own))
        if sent_at is not None and sent_at >= now - interval[name]:
            taken[name].append(Booking(sent_at, owner, not own))
    for bookings in taken.values():
        bookings.sort(key=lambda booking: booking.at)
    return taken


def reference_availability(now: datetime) -> list[dict[str, Any]]:
    domains = list_domains()
    counts = running_campaign_counts()
    taken = reference_taken_slots(domains, now)
    result = []
    for domain in domains:
        calendar = DomainCalendar(domain_spec(domain))
        try:
            days = working_days_ahead(calendar, now, 14)
        except PlanError:
            days = []
        # What a day holds: every message that is not canceled, on the day it went or goes.
        held = db.session.execute(
            sa.select(Message.scheduled_at, Message.sent_at).where(
                Message.domain_used == domain.name, Message.status != "canceled"
            )
        )
        per_day = Counter(calendar.local_date(sent or at).isoformat() for at, sent in held)
        used = reference_used([calendar.spec], now).get(domain.name, {})
        try:
            cursor = SlotCursor(calendar, [b.at for b in taken.get(domain.name, [])], now)
            while True:
                moment = cursor.peek()
                day = calendar.local_date(moment)
                allowed = calendar.allowance(day)
                if allowed is None or used.get(day, 0) < allowed:
                    break
                cursor.seek(calendar.day_start(day + timedelta(days=1)))
            free = iso(moment)
        except PlanError:
            free = None
        cap = domain.daily_cap
        result.append(
            {
                "domain": domain.name,
                "label": domain.label,
                "active_campaigns": counts.get(domain.name, 0),
                "capacity_per_day": min(calendar.slots_per_day(), cap or 10**9),
                "slots": {
                    "window": calendar.slots_per_day(),
                    "daily_cap": cap,
                    "today": (
                        calendar.allowance(calendar.local_date(now))
                        if domain.ramp_start is not None
                        else None
                    ),
                },
                "booked": {d.isoformat(): per_day.get(d.isoformat(), 0) for d in days},
                "capacity": {
                    d.isoformat(): min(len(calendar.slots(d)), calendar.allowance(d) or 10**9)
                    for d in days
                },
                "warm_up": pace_line(calendar.spec),
                "next_free_slot": None if domain.paused else free,
                "paused": domain.paused,
            }
        )
    return result


def reference_used(
    specs: list[DomainSpec], now: datetime, campaign_id: str | None = None
) -> dict[str, dict[date, int]]:
    """Per capped domain, every message that is not canceled (nor the campaign's own
    queued one) on the local day it went or goes, from today on."""
    result: dict[str, dict[date, int]] = {}
    for spec in specs:
        if not spec.limited:
            continue
        calendar = DomainCalendar(spec)
        rows = db.session.execute(
            sa.select(
                Message.scheduled_at, Message.sent_at, Message.status, Message.campaign_id
            ).where(Message.domain_used == spec.name, Message.status != "canceled")
        )
        counts = Counter(
            calendar.local_date(sent_at or scheduled_at)
            for scheduled_at, sent_at, status, owner in rows
            if not (owner == campaign_id and status == "queued")
        )
        today = calendar.local_date(now)
        result[spec.name] = {day: n for day, n in counts.items() if day >= today}
    return result


# -- random worlds ---------------------------------------------------------------------

INTERVALS = [60, 300, 1200, 3600, 5400]
WINDOWS = [(time(9, 0), time(18, 0)), (time(8, 30), time(12, 0)), (time(1, 30), time(3, 30))]
# Around the spring and autumn switches, and an ordinary week.
NOWS = [
    datetime(2026, 3, 26, 10, 7, tzinfo=AMS),
    datetime(2026, 10, 23, 17, 55, tzinfo=AMS),
    datetime(2026, 12, 7, 8, 0, tzinfo=AMS),
    datetime(2026, 12, 9, 13, 41, tzinfo=AMS),
]


def build_world(seed: int, warm_up: bool = False) -> datetime:
    """Three domains with random settings, a few campaigns planned on them, some mail sent
    (on time or a little late), some canceled; returns the moment to look from. With
    `warm_up`, some domains have a daily cap, a ramp or both."""
    rng = random.Random(seed)
    caps = random.Random(seed + 1)
    now = rng.choice(NOWS).astimezone(UTC)
    names = [f"d{k}-{seed}.nl" for k in range(3)]
    for k, name in enumerate(names):
        start, end = rng.choice(WINDOWS)
        limits: dict[str, Any] = {}
        if warm_up:
            ramp = caps.choice([None, 1, 3, 8])
            limits = {
                "daily_cap": caps.choice([None, 2, 5, 12]),
                "ramp_start": ramp,
                "ramp_step": caps.choice([0, 1, 4]) if ramp else 0,
                "ramp_started_on": (
                    now.astimezone(AMS).date() - timedelta(days=caps.randint(-3, 10))
                    if ramp
                    else None
                ),
            }
        db.session.add(
            SendingDomain(
                **limits,
                name=name,
                label=f"D{k}",
                interval_seconds=rng.choice(INTERVALS),
                window_start=start,
                window_end=end,
                working_days=rng.choice([[1, 2, 3, 4, 5], [1, 3, 5], [6, 7]]),
                skip_holidays=rng.random() < 0.7,
                aliases=[{"alias": "christian", "display_name": "C"}],
                paused=rng.random() < 0.15,
            )
        )
    db.session.flush()
    for number in range(rng.randint(1, 4)):
        template = make_template(rng.randint(1, 3))
        leads = [make_lead().id for _ in range(rng.randint(1, 40))]
        campaign = make_campaign(
            template_id=template.id,
            domain=None,
            domains=rng.sample(names, rng.randint(1, 2)),
            start_at=now + timedelta(minutes=rng.randint(-600, 3000)),
            followup_days=rng.randint(0, 2),
            status="running" if number else rng.choice(["running", "paused", "completed"]),
        )
        campaign.audience = CampaignAudience(lead_ids=leads)
        db.session.flush()
        try:
            persist_plan(campaign, now - timedelta(minutes=rng.randint(0, 90)))
        except PlanError:
            continue
    messages = list(db.session.execute(sa.select(Message)).scalars())
    for message in messages:
        roll = rng.random()
        if roll < 0.2 and message.scheduled_at <= now:
            message.status = "sent"
            late = timedelta(seconds=rng.randint(0, 600))
            message.sent_at = min(now, message.scheduled_at + late)
        elif roll < 0.3:
            message.status = "canceled"
        elif roll < 0.35:
            message.status = "sending"
    for domain in db.session.execute(sa.select(SendingDomain)).scalars():
        sent = [m.sent_at for m in messages if m.domain_used == domain.name and m.sent_at]
        domain.last_sent_at = max(sent, default=None)
    db.session.flush()
    return now


PROPERTY = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(st.integers(0, 10**6), st.booleans())
def test_availability_equals_the_full_read_of_every_booking(
    app: Flask, seed: int, warm_up: bool
) -> None:
    try:
        now = build_world(seed, warm_up)
        for moment in (now, now + timedelta(hours=5), now + timedelta(days=3)):
            every = reference_availability(moment)
            assert domain_availability(moment) == every
            # A page of the heat map counts only its own domains, and counts them alike.
            page = list_domains()[1:]
            assert domain_availability(moment, page) == every[1:]
    finally:
        db.session.rollback()


@PROPERTY
@given(st.integers(0, 10**6), st.booleans())
@example(443573, False)  # another campaign's mail sent at the very moment the plan starts
def test_a_started_campaigns_dry_run_equals_the_report_over_all_its_messages(
    app: Flask, seed: int, warm_up: bool
) -> None:
    try:
        now = build_world(seed, warm_up)
        campaigns = db.session.execute(sa.select(Campaign)).scalars().all()
        for campaign in campaigns:
            request = plan_request_for(campaign)
            for moment in (now, now + timedelta(days=2)):
                written = campaign_messages(campaign.id)
                expected = (
                    build_report(prepare(request, moment, make_plan=False), written)
                    if written
                    else None
                )
                assert written_report(campaign.id, request, moment) == expected
    finally:
        db.session.rollback()


def reference_prepare(request: PlanRequest, now: datetime) -> Prepared:
    """`prepare` as it was: every booking of the domains read, then the plan."""
    prepared = prepare(request, now, make_plan=False)
    prepared.bookings = reference_taken_slots(prepared.domains, now, request.campaign_id)
    steps = max(1, min(4, request.steps)) if request.followup_enabled else 1
    taken = {name: [b.at for b in items] for name, items in prepared.bookings.items()}
    try:
        prepared.messages = plan(
            prepared.specs,
            taken,
            fresh_leads(prepared.lead_ids, steps),
            PlanSettings(request.start_at, max(0, request.followup_days)),
            now,
            reference_used(prepared.specs, now, request.campaign_id),
        )
    except PlanError as error:
        prepared.error = str(error)
    return prepared


@PROPERTY
@given(st.integers(0, 10**6), st.booleans())
def test_a_plan_reading_only_what_it_can_meet_equals_the_plan_over_every_booking(
    app: Flask, seed: int, warm_up: bool
) -> None:
    try:
        now = build_world(seed, warm_up)
        rng = random.Random(seed)
        names = [d.name for d in list_domains()]
        draft = make_campaign(
            template_id=make_template(rng.randint(1, 4)).id,
            domain=None,
            domains=rng.sample(names, rng.randint(1, 3)),
            start_at=rng.choice([None, now + timedelta(minutes=rng.randint(-600, 9000))]),
            followup_days=rng.randint(0, 3),
            status="draft",
        )
        draft.audience = CampaignAudience(
            lead_ids=[make_lead().id for _ in range(rng.randint(0, 120))]
        )
        db.session.flush()
        campaigns = db.session.execute(sa.select(Campaign)).scalars().all()
        for campaign in campaigns:
            request = plan_request_for(campaign)
            for moment in (now, now + timedelta(days=2)):
                bounded, full = prepare(request, moment), reference_prepare(request, moment)
                assert bounded.bounded and not full.bounded
                assert (bounded.messages, bounded.error) == (full.messages, full.error)
                assert build_report(bounded, bounded.messages) == build_report(full, full.messages)
    finally:
        db.session.rollback()


def test_a_domain_booked_far_past_the_first_stretch_finds_its_first_free_slot(
    app: Flask,
) -> None:
    """300 bookings in a row at a 60-second pace: the reads grow past the first 32 slots."""
    try:
        now = datetime(2026, 12, 9, 9, 0, tzinfo=AMS).astimezone(UTC)
        db.session.add(
            SendingDomain(
                name="vol.nl",
                label="Vol",
                interval_seconds=60,
                window_start=time(9, 0),
                window_end=time(18, 0),
                working_days=[1, 2, 3, 4, 5],
                aliases=[{"alias": "christian", "display_name": "C"}],
            )
        )
        db.session.flush()
        template = make_template(1)
        campaign = make_campaign(
            template_id=template.id, domain=None, domains=["vol.nl"], start_at=now
        )
        campaign.audience = CampaignAudience(lead_ids=[make_lead().id for _ in range(300)])
        db.session.flush()
        assert persist_plan(campaign, now) == 300
        (entry,) = domain_availability(now)
        assert entry == reference_availability(now)[0]
        # The 300 slots from 9:00 on are taken: the first free one is 14:00.
        assert entry["next_free_slot"] == iso(datetime(2026, 12, 9, 14, 0, tzinfo=AMS))
    finally:
        db.session.rollback()
