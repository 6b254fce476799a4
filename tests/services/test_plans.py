"""Plans in the database: the dry run, starting (persisting), re-planning, availability."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import make_campaign, make_lead, make_message, make_template
from webapp.extensions import db
from webapp.models import Campaign, CampaignAudience, Message, SendingDomain
from webapp.services.domains import get_domain, seed_default_domains
from webapp.services.planning.availability import domain_availability
from webapp.services.planning.plans import (
    PlanError,
    auto_assign_domain,
    domain_spec,
    persist_plan,
    plan_request_for,
)
from webapp.services.planning.replanning import replan_queued
from webapp.services.planning.report import dry_run_report
from webapp.services.planning.slots import DomainCalendar, DomainSpec, SlotCursor, nth_free_slot

AMS = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 12, 7, 8, 0, tzinfo=AMS).astimezone(UTC)  # Monday morning
V1, V2, V3, V4 = (
    "punthelder-vindbaarheid.nl",
    "punthelder-marketing.nl",
    "punthelder-seo.nl",
    "punthelder-zoekmachine.nl",
)


@pytest.fixture
def domains(app: Flask) -> None:
    seed_default_domains()
    db.session.flush()


def campaign_with(leads: int, steps: int = 1, **overrides: Any) -> Campaign:
    template = make_template(steps)
    lead_ids = [make_lead().id for _ in range(leads)]
    values: dict[str, Any] = {
        "template_id": template.id,
        "domain": None,
        "domains": [V1, V2],
        "start_at": NOW,
        "followup_days": 2,
    }
    values.update(overrides)
    campaign = make_campaign(**values)
    campaign.audience = CampaignAudience(lead_ids=lead_ids)
    db.session.flush()
    return campaign


def rows(campaign: Campaign) -> list[Message]:
    return list(
        db.session.execute(
            sa.select(Message)
            .where(Message.campaign_id == campaign.id)
            .order_by(Message.scheduled_at)
        ).scalars()
    )


def per_day(messages: list[Message]) -> Counter[tuple[str, str]]:
    return Counter(
        (m.scheduled_at.astimezone(AMS).date().isoformat(), m.domain_used) for m in messages
    )


def assert_no_shared_slots(messages: list[Message]) -> None:
    by_domain: dict[str, list[datetime]] = {}
    for m in messages:
        by_domain.setdefault(m.domain_used, []).append(m.scheduled_at)
    for moments in by_domain.values():
        moments.sort()
        assert all(b - a >= timedelta(minutes=20) for a, b in pairwise(moments))


def test_starting_writes_exactly_what_the_dry_run_showed(domains: None) -> None:
    campaign = campaign_with(70, steps=3)
    report = dry_run_report(plan_request_for(campaign), NOW)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0

    assert persist_plan(campaign, NOW) == report["total_messages"] == 210
    written = rows(campaign)
    expected = Counter({(d["date"], d["domain"]): d["messages"] for d in report["per_day"]})
    assert per_day(written) == expected
    for entry in report["per_domain"]:
        own = [m for m in written if m.domain_used == entry["domain"]]
        assert len(own) == entry["messages"]
        assert dict(Counter(str(m.mail_number) for m in own)) == entry["by_mail_number"]
        assert own[0].scheduled_at == datetime.fromisoformat(entry["first_slot"])
        assert own[-1].scheduled_at == datetime.fromisoformat(entry["last_slot"])
    assert report["finishes_at"] == written[-1].scheduled_at.astimezone(AMS).isoformat()

    by_key = {(m.lead_id, m.mail_number): m for m in written}
    for m in written:
        assert m.status == "queued"
        assert m.from_email == m.reply_to_email == f"{m.alias}@{m.domain_used}"
        assert m.is_followup == (m.mail_number > 1)
        parent = by_key.get((m.lead_id, m.mail_number - 1))
        assert m.parent_message_id == (parent.id if parent else None)
        if parent:
            assert (parent.domain_used, parent.alias) == (m.domain_used, m.alias)


def test_starting_again_writes_nothing(domains: None) -> None:
    campaign = campaign_with(30, steps=2)
    assert persist_plan(campaign, NOW) == 60
    assert persist_plan(campaign, NOW + timedelta(hours=1)) == 0
    assert len(rows(campaign)) == 60


def test_a_second_campaign_plans_around_the_first_and_is_warned(domains: None) -> None:
    first = campaign_with(40, domains=[V3])
    persist_plan(first, NOW)
    second = campaign_with(40, domains=[V3])
    report = dry_run_report(plan_request_for(second), NOW)
    taken = [w for w in report["warnings"] if w["code"] == "slots_taken"]
    assert taken and taken[0]["count"] == 40 and taken[0]["campaigns"] == 1
    persist_plan(second, NOW)
    assert_no_shared_slots(rows(first) + rows(second))


def test_concurrent_starts_never_book_the_same_slot(app: Flask, domains: None) -> None:
    campaigns = [campaign_with(120, domains=[V4]).id for _ in range(2)]
    db.session.commit()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def start(campaign_id: str) -> None:
        try:
            with app.app_context():
                campaign = db.session.get(Campaign, campaign_id)
                barrier.wait()
                persist_plan(campaign, NOW)
                db.session.commit()
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=start, args=(c,)) for c in campaigns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    db.session.expire_all()
    messages = list(db.session.execute(sa.select(Message)).scalars())
    assert len(messages) == 240
    assert_no_shared_slots(messages)


def test_auto_assign_takes_the_active_domain_with_fewest_running_campaigns(domains: None) -> None:
    make_campaign(status="running", domain=V1)
    make_campaign(status="running", domain=V2)
    make_campaign(status="running", domain=None, domains=[V3, V4])
    make_campaign(status="draft", domain=V4)
    assert auto_assign_domain() == V1  # all four have one: ties go by label
    make_campaign(status="running", domain=V1)
    get_domain(V2).paused = True
    assert auto_assign_domain() == V3


def test_auto_assign_takes_the_domain_that_finishes_first_not_one_a_paused_campaign_fills(
    domains: None,
) -> None:
    # A paused campaign holds V1's next 80 slots (three working days); nothing runs anywhere,
    # so counting running campaigns would pick V1, the first by label.
    paused = make_campaign(status="paused", domain=V1)
    cursor = SlotCursor(DomainCalendar(domain_spec(get_domain(V1))), [], NOW)
    for _ in range(80):
        make_message(
            paused, make_lead(), domain_used=V1, status="queued", scheduled_at=cursor.take()
        )
    db.session.flush()

    assert auto_assign_domain(NOW, needed=50) == V2  # idle: out two days earlier than V1
    get_domain(V2).paused = True
    assert auto_assign_domain(NOW, needed=50) == V3


def test_a_new_campaign_without_domains_gets_the_one_that_finishes_first(domains: None) -> None:
    paused = make_campaign(status="paused", domain=V1)
    cursor = SlotCursor(DomainCalendar(domain_spec(get_domain(V1))), [], NOW)
    for _ in range(40):
        make_message(
            paused, make_lead(), domain_used=V1, status="queued", scheduled_at=cursor.take()
        )
    campaign = campaign_with(30, domains=[])
    campaign.domain = None

    persist_plan(campaign, NOW)

    assert campaign.domain == V2
    assert {m.domain_used for m in campaign_messages_of(campaign)} == {V2}


def campaign_messages_of(campaign: Campaign) -> list[Message]:
    return list(
        db.session.execute(sa.select(Message).where(Message.campaign_id == campaign.id)).scalars()
    )


@settings(max_examples=60, deadline=None)
@given(
    taken_offsets=st.lists(st.integers(0, 60 * 24 * 12), max_size=40),
    count=st.integers(1, 120),
    interval=st.sampled_from([60, 600, 1200, 3600]),
)
def test_the_nth_free_slot_is_where_walking_the_free_slots_one_by_one_ends(
    taken_offsets: list[int], count: int, interval: int
) -> None:
    calendar = DomainCalendar(DomainSpec(name="x.nl", interval_seconds=interval))
    taken = [NOW + timedelta(minutes=m) for m in taken_offsets]
    cursor = SlotCursor(calendar, taken, NOW)
    for _ in range(count):
        walked = cursor.take()

    assert nth_free_slot(calendar, taken, NOW, count) == walked
    assert nth_free_slot(calendar, taken, NOW, count, not_after=walked) == walked
    assert (
        nth_free_slot(calendar, taken, NOW, count, not_after=walked - timedelta(seconds=1)) is None
    )


def test_starting_without_a_domain_assigns_one(domains: None) -> None:
    make_campaign(status="running", domain=V1)
    campaign = campaign_with(5, domains=[])
    persist_plan(campaign, NOW)
    assert campaign.domain == V2
    assert {m.domain_used for m in rows(campaign)} == {V2}


def test_starting_with_every_domain_paused_fails(domains: None) -> None:
    get_domain(V1).paused = True
    get_domain(V2).paused = True
    campaign = campaign_with(3)
    with pytest.raises(PlanError):
        persist_plan(campaign, NOW)
    report = dry_run_report(plan_request_for(campaign), NOW)
    codes = [w["code"] for w in report["warnings"]]
    assert codes.count("domain_paused") == 2 and "not_planned" in codes


def test_resume_moves_queued_mails_from_now_keeping_order_sender_and_spacing(domains: None) -> None:
    campaign = campaign_with(30, steps=3, status="running")
    persist_plan(campaign, NOW)
    before = {(m.lead_id, m.mail_number): (m.domain_used, m.alias) for m in rows(campaign)}
    first = rows(campaign)[0]
    first.status, first.sent_at = "sent", first.scheduled_at
    later = NOW + timedelta(days=2, hours=5)  # Wednesday 13:00

    moved = replan_queued(campaign, later)
    assert moved > 0
    after = rows(campaign)
    queued = [m for m in after if m.status == "queued"]
    assert all(m.scheduled_at >= later for m in queued)
    assert {(m.lead_id, m.mail_number): (m.domain_used, m.alias) for m in after} == before
    by_lead: dict[str, list[Message]] = {}
    for m in after:
        by_lead.setdefault(m.lead_id, []).append(m)
    for own in by_lead.values():
        own.sort(key=lambda m: m.mail_number)
        times = [m.sent_at or m.scheduled_at for m in own]
        assert times == sorted(times)
    follow_up = by_lead[first.lead_id][1]
    # Two working days after Monday's mail: Wednesday, and Wednesday after 13:00.
    assert follow_up.scheduled_at.astimezone(AMS).date() == later.astimezone(AMS).date()
    assert_no_shared_slots(after)


def test_a_paused_domain_moves_untouched_leads_and_lets_started_ones_wait(domains: None) -> None:
    campaign = campaign_with(20, steps=2, status="running")
    persist_plan(campaign, NOW)
    on_v1 = [m for m in rows(campaign) if m.domain_used == V1 and m.mail_number == 1]
    started = on_v1[0]
    started.status, started.sent_at = "sent", started.scheduled_at
    waiting = next(m for m in rows(campaign) if m.lead_id == started.lead_id and m.mail_number == 2)
    waiting_at = waiting.scheduled_at
    get_domain(V1).paused = True

    replan_queued(campaign, NOW + timedelta(hours=3))
    after = rows(campaign)
    assert {m.domain_used for m in after if m.lead_id != started.lead_id} == {V2}
    assert (waiting.domain_used, waiting.scheduled_at) == (V1, waiting_at)
    assert_no_shared_slots(after)


def test_dry_run_warns_about_variables_reports_and_paused_domains(
    app: Flask, domains: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = make_template(2)
    template.steps[0].body_text = "Hallo {{ first_name }} van {{ company }}"
    complete = make_lead(
        domain="heeft-rapport.nl", vars={"company": "A", "url": "x", "first_name": "Ann"}
    )
    incomplete = make_lead(domain="zonder-rapport.nl")
    get_domain(V2).paused = True
    campaign = campaign_with(0, steps=2, template_id=template.id, followup_attach_report=True)
    campaign.audience.lead_ids = [complete.id, incomplete.id]
    db.session.flush()

    monkeypatch.setitem(app.config, "REPORTS_DIR", str(tmp_path / "missing"))
    codes = {w["code"]: w for w in dry_run_report(plan_request_for(campaign), NOW)["warnings"]}
    assert codes["missing_variables"]["count"] == 1
    assert codes["missing_variables"]["variables"] == {"first_name": 1}
    assert "reports_folder_missing" in codes
    assert codes["domain_paused"]["domain"] == V2

    (tmp_path / "heeft-rapport.nl.pdf").write_bytes(b"%PDF-1.4")
    monkeypatch.setitem(app.config, "REPORTS_DIR", str(tmp_path))
    codes = {w["code"]: w for w in dry_run_report(plan_request_for(campaign), NOW)["warnings"]}
    assert codes["missing_reports"]["count"] == 1


def test_dry_run_warns_only_about_variables_used_without_a_fallback(
    app: Flask, domains: None
) -> None:
    template = make_template(2)
    template.steps[0].body_text = (
        'Beste {{ first_name | default("ondernemer") }}, '
        "{% if branche %}iets voor de {{ branche }}?{% endif %} {{ city }}"
    )
    leads = [make_lead(vars={"company": "A", "url": "x", "city": "Ede"}), make_lead()]
    campaign = campaign_with(0, steps=2, template_id=template.id)
    campaign.audience.lead_ids = [lead.id for lead in leads]
    db.session.flush()

    codes = {w["code"]: w for w in dry_run_report(plan_request_for(campaign), NOW)["warnings"]}
    assert codes["missing_variables"]["count"] == 1
    assert codes["missing_variables"]["variables"] == {"city": 1}


def test_a_started_campaign_reports_the_plan_it_wrote(domains: None) -> None:
    campaign = campaign_with(10, steps=2, status="running")
    persist_plan(campaign, NOW)
    report = dry_run_report(plan_request_for(campaign), NOW + timedelta(days=1))
    assert report["total_messages"] == 20
    assert report["finishes_at"] == rows(campaign)[-1].scheduled_at.astimezone(AMS).isoformat()


def test_availability_shows_bookings_capacity_and_the_next_free_slot(domains: None) -> None:
    campaign = campaign_with(30, domains=[V3], status="running")
    persist_plan(campaign, NOW)
    get_domain(V4).paused = True
    entries = {e["domain"]: e for e in domain_availability(NOW)}
    v3 = entries[V3]
    assert v3["active_campaigns"] == 1 and v3["capacity_per_day"] == 27 and not v3["paused"]
    assert len(v3["booked"]) == 14
    assert list(v3["booked"].items())[:3] == [
        ("2026-12-07", 27),
        ("2026-12-08", 3),
        ("2026-12-09", 0),
    ]
    assert v3["next_free_slot"] == "2026-12-08T10:00:00+01:00"
    assert "2026-12-25" not in v3["booked"] and "2026-12-12" not in v3["booked"]
    assert entries[V1]["next_free_slot"] == "2026-12-07T09:00:00+01:00"
    assert entries[V4]["paused"] and entries[V4]["next_free_slot"] is None


def test_the_embedded_sqlite_database_persists_and_repeats(sqlite_app: Flask) -> None:
    seed_default_domains()
    campaign = campaign_with(12, steps=2)
    assert persist_plan(campaign, NOW) == 24
    assert persist_plan(campaign, NOW) == 0
    messages = rows(campaign)
    assert per_day(messages) == Counter(
        {
            (d["date"], d["domain"]): d["messages"]
            for d in dry_run_report(plan_request_for(campaign), NOW)["per_day"]
        }
    )
    assert all(m.parent_message_id for m in messages if m.mail_number == 2)
    assert db.session.get(SendingDomain, get_domain(V1).id) is not None


def test_starting_again_fills_in_only_the_missing_rows(domains: None) -> None:
    campaign = campaign_with(5, steps=3)
    persist_plan(campaign, NOW)
    lost = next(m for m in rows(campaign) if m.mail_number == 2)
    parent_id, lead_id = lost.parent_message_id, lost.lead_id
    db.session.delete(lost)
    db.session.flush()
    assert persist_plan(campaign, NOW) == 1
    db.session.expire_all()
    again = next(m for m in rows(campaign) if m.lead_id == lead_id and m.mail_number == 2)
    assert again.parent_message_id == parent_id
    assert len(rows(campaign)) == 15
