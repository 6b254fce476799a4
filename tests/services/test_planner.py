"""The pure planner on chosen examples: the original review's, DST nights, holidays, taken slots."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.services.planner_rules import check_plan
from webapp.services.planning.planner import (
    DomainSpec,
    LeadSpec,
    PlanError,
    PlanSettings,
    fresh_leads,
    plan,
)
from webapp.services.planning.slots import DomainCalendar

AMS = ZoneInfo("Europe/Amsterdam")
SEED_DOMAINS = [
    DomainSpec("punthelder-vindbaarheid.nl", label="v1"),
    DomainSpec("punthelder-marketing.nl", label="v2"),
    DomainSpec("punthelder-seo.nl", label="v3"),
    DomainSpec("punthelder-zoekmachine.nl", label="v4"),
]
MONDAY = datetime(2026, 1, 5, tzinfo=AMS).astimezone(UTC)  # Monday 5 January 2026, 00:00


def local(moment: datetime) -> datetime:
    return moment.astimezone(AMS)


def working_days_used(result: list, first: datetime) -> int:
    calendar = DomainCalendar(SEED_DOMAINS[0])
    last = max(m.scheduled_at for m in result)
    return calendar.working_days_between(calendar.local_date(first), calendar.local_date(last))


def test_seed_example_without_follow_ups_takes_twenty_working_days() -> None:
    leads = fresh_leads([f"lead-{i}" for i in range(2100)], 1)
    result = plan(SEED_DOMAINS, {}, leads, PlanSettings(followup_days=3), MONDAY)
    check_plan(SEED_DOMAINS, {}, leads, PlanSettings(followup_days=3), MONDAY, result)
    assert len(result) == 2100
    assert working_days_used(result, MONDAY) == 20  # ceil(2100 / (4 x 27))
    assert Counter(m.domain for m in result) == {d.name: 525 for d in SEED_DOMAINS}


def test_seed_example_with_three_follow_ups_three_working_days_apart() -> None:
    leads = fresh_leads([f"lead-{i}" for i in range(2100)], 4)
    settings = PlanSettings(followup_days=3)
    result = plan(SEED_DOMAINS, {}, leads, settings, MONDAY)
    check_plan(SEED_DOMAINS, {}, leads, settings, MONDAY, result)
    assert len(result) == 8400
    # 8,400 mails need at least ceil(8400 / 108) = 78 working days; the last leads'
    # follow-ups trail by 3 x 3 working days. Good Friday, Easter Monday and King's Day
    # fall inside, so the last mail goes out on Monday 4 May 2026.
    assert working_days_used(result, MONDAY) == 83
    assert local(max(m.scheduled_at for m in result)).date() == date(2026, 5, 4)


def test_default_slots_are_twenty_minutes_from_nine_to_five_forty() -> None:
    leads = fresh_leads([f"lead-{i}" for i in range(28)], 1)
    result = plan(SEED_DOMAINS[:1], {}, leads, PlanSettings(), MONDAY)
    times = [local(m.scheduled_at).strftime("%a %H:%M") for m in result]
    assert times[:3] == ["Mon 09:00", "Mon 09:20", "Mon 09:40"]
    assert times[26:] == ["Mon 17:40", "Tue 09:00"]


def test_leads_alternate_aliases_and_keep_their_sender() -> None:
    leads = fresh_leads(["a", "b", "c", "d"], 2)
    result = plan(SEED_DOMAINS[:2], {}, leads, PlanSettings(followup_days=1), MONDAY)
    sender = {(m.lead_id, m.mail_number): (m.domain, m.alias) for m in result}
    assert sender[("a", 1)] == (SEED_DOMAINS[0].name, "christian")
    assert sender[("b", 1)] == (SEED_DOMAINS[1].name, "christian")
    assert sender[("c", 1)] == (SEED_DOMAINS[0].name, "victor")
    assert sender[("d", 1)] == (SEED_DOMAINS[1].name, "victor")
    assert all(sender[(lead, 2)] == sender[(lead, 1)] for lead in "abcd")


def test_follow_up_waits_three_working_days_over_the_weekend() -> None:
    thursday = datetime(2026, 1, 8, tzinfo=AMS).astimezone(UTC)
    result = plan(
        SEED_DOMAINS[:1], {}, fresh_leads(["a"], 2), PlanSettings(followup_days=3), thursday
    )
    assert [local(m.scheduled_at).strftime("%a %d-%m %H:%M") for m in result] == [
        "Thu 08-01 09:00",
        "Tue 13-01 09:00",
    ]
    assert result[1].parent_mail_number == 1


def test_follow_up_days_zero_takes_the_next_free_slot() -> None:
    result = plan(
        SEED_DOMAINS[:1], {}, fresh_leads(["a", "b"], 3), PlanSettings(followup_days=0), MONDAY
    )
    assert [(m.lead_id, local(m.scheduled_at).strftime("%H:%M")) for m in result] == [
        ("a", "09:00"),
        ("a", "09:20"),  # a's follow-up is due at once and goes before b's first mail
        ("a", "09:40"),
        ("b", "10:00"),
        ("b", "10:20"),
        ("b", "10:40"),
    ]


def test_an_off_grid_booking_blocks_the_slots_within_one_interval() -> None:
    taken = {SEED_DOMAINS[0].name: [datetime(2026, 1, 5, 9, 10, tzinfo=AMS).astimezone(UTC)]}
    result = plan(SEED_DOMAINS[:1], taken, fresh_leads(["a", "b"], 1), PlanSettings(), MONDAY)
    assert [local(m.scheduled_at).strftime("%H:%M") for m in result] == ["09:40", "10:00"]


def test_no_slot_before_start_at_or_now() -> None:
    start_at = datetime(2026, 1, 6, 13, 5, tzinfo=AMS).astimezone(UTC)
    result = plan(SEED_DOMAINS[:1], {}, fresh_leads(["a"], 1), PlanSettings(start_at), MONDAY)
    assert local(result[0].scheduled_at).strftime("%a %H:%M") == "Tue 13:20"
    later_now = datetime(2026, 1, 7, 17, 50, tzinfo=AMS).astimezone(UTC)
    result = plan(SEED_DOMAINS[:1], {}, fresh_leads(["a"], 1), PlanSettings(start_at), later_now)
    assert local(result[0].scheduled_at).strftime("%a %H:%M") == "Thu 09:00"


@pytest.mark.parametrize(
    ("first_day", "holiday"),
    [(date(2026, 4, 24), date(2026, 4, 27)), (date(2026, 12, 24), date(2026, 12, 25))],
    ids=["kings-day", "christmas"],
)
def test_dutch_holidays_are_skipped_only_when_the_domain_says_so(
    first_day: date, holiday: date
) -> None:
    now = datetime.combine(first_day, time(0), AMS).astimezone(UTC)
    leads = fresh_leads([f"lead-{i}" for i in range(27 * 3)], 1)
    skipping = plan(SEED_DOMAINS[:1], {}, leads, PlanSettings(), now)
    assert holiday not in {local(m.scheduled_at).date() for m in skipping}
    working = DomainSpec("open.example", skip_holidays=False)
    keeping = plan([working], {}, leads, PlanSettings(), now)
    assert holiday in {local(m.scheduled_at).date() for m in keeping}


NIGHT = DomainSpec(
    "night.example",
    interval_seconds=3000,  # 50 minutes: 01:40 and 03:20 are 40 real minutes apart in March
    window_start=time(0, 0),
    window_end=time(6, 0),
    working_days=(1, 2, 3, 4, 5, 6, 7),
    skip_holidays=False,
)


@pytest.mark.parametrize("day", [date(2026, 3, 29), date(2026, 10, 25)], ids=["march", "october"])
def test_plans_across_the_dst_nights_stay_in_the_window_and_apart(day: date) -> None:
    now = datetime.combine(day - timedelta(days=1), time(0), AMS).astimezone(UTC)
    leads = fresh_leads([f"lead-{i}" for i in range(40)], 2)
    settings = PlanSettings(followup_days=0)
    result = plan([NIGHT], {}, leads, settings, now)
    check_plan([NIGHT], {}, leads, settings, now, result)
    walls = sorted(
        local(m.scheduled_at).strftime("%H:%M")
        for m in result
        if local(m.scheduled_at).date() == day
    )
    if day.month == 3:
        # 02:30 does not exist; 03:20 comes only 40 real minutes after 01:40, too close.
        assert walls == ["00:00", "00:50", "01:40", "04:10", "05:00", "05:50"]
    else:
        # 02:30 exists twice; the slot is the first of them, once.
        assert walls == ["00:00", "00:50", "01:40", "02:30", "03:20", "04:10", "05:00", "05:50"]


def test_a_daily_slot_keeps_a_full_day_apart_across_the_spring_change() -> None:
    daily = DomainSpec(
        "daily.example",
        interval_seconds=86400,
        window_start=time(0, 0),
        window_end=time(0, 1),
        working_days=(1, 2, 3, 4, 5, 6, 7),
        skip_holidays=False,
    )
    now = datetime(2026, 3, 28, tzinfo=AMS).astimezone(UTC)
    result = plan([daily], {}, fresh_leads(["a", "b", "c"], 1), PlanSettings(), now)
    # Sunday 00:00 and Monday 00:00 are only 23 hours apart on the night the clocks go forward.
    assert [local(m.scheduled_at).date().day for m in result] == [28, 29, 31]


def test_paused_domains_are_left_out_and_all_paused_cannot_plan() -> None:
    paused = DomainSpec("paused.example", paused=True)
    result = plan([paused, SEED_DOMAINS[0]], {}, fresh_leads(["a", "b"], 1), PlanSettings(), MONDAY)
    assert {m.domain for m in result} == {SEED_DOMAINS[0].name}
    with pytest.raises(PlanError):
        plan([paused], {}, fresh_leads(["a"], 1), PlanSettings(), MONDAY)


def test_a_bound_lead_keeps_its_sender_and_its_follow_up_spacing() -> None:
    sent = datetime(2026, 1, 5, 9, 0, tzinfo=AMS).astimezone(UTC)
    leads = [
        LeadSpec("a", (2, 3), SEED_DOMAINS[1].name, "victor", after=sent),
        LeadSpec("b", (1, 2, 3)),
    ]
    settings = PlanSettings(followup_days=2)
    now = datetime(2026, 1, 6, 12, 0, tzinfo=AMS).astimezone(UTC)
    result = plan(SEED_DOMAINS[:2], {}, leads, settings, now)
    check_plan(SEED_DOMAINS[:2], {}, leads, settings, now, result)
    a = [m for m in result if m.lead_id == "a"]
    assert {(m.domain, m.alias) for m in a} == {(SEED_DOMAINS[1].name, "victor")}
    assert local(a[0].scheduled_at).strftime("%a %H:%M") == "Wed 09:00"
    assert a[0].parent_mail_number == 1
    # A lead bound to a domain that is not active waits: it is not planned.
    waiting = plan(SEED_DOMAINS[:1], {}, leads, settings, now)
    assert {m.lead_id for m in waiting} == {"b"}
