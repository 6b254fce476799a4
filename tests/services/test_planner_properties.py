"""Property tests of the pure planner: every rule holds for every generated plan."""

from __future__ import annotations

import math
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.services.planner_rules import add_working_days, check_plan, earliest_free, works
from webapp.services.planning.planner import DomainSpec, LeadSpec, PlanSettings, fresh_leads, plan

ZONES = [
    "Europe/Amsterdam",
    "Europe/Amsterdam",
    "America/New_York",
    "Australia/Lord_Howe",  # a half-hour DST change
    "Asia/Kolkata",
    "Pacific/Chatham",
    "UTC",
]
# Weeks with a DST change in Europe/Amsterdam (last Sunday of March and October),
# King's Day, Christmas and the New Year.
BASES = [
    datetime(2026, 3, 26, tzinfo=UTC),
    datetime(2026, 10, 22, tzinfo=UTC),
    datetime(2027, 3, 25, tzinfo=UTC),
    datetime(2027, 10, 28, tzinfo=UTC),
    datetime(2026, 4, 24, tzinfo=UTC),
    datetime(2026, 12, 22, tzinfo=UTC),
    datetime(2026, 11, 2, tzinfo=UTC),
    datetime(2026, 3, 31, tzinfo=UTC),  # the US DST week is two weeks earlier: after it
]
INTERVALS = [420, 600, 1200, 1800, 2400, 3600, 5400, 9000]

PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def domain_specs(draw: st.DrawFn, index: int, any_zone: bool = True) -> DomainSpec:
    interval = draw(st.sampled_from(INTERVALS) | st.integers(300, 7200))
    start = draw(st.integers(0, 22 * 60))
    end = draw(st.integers(start + 1, 23 * 60 + 59))
    return DomainSpec(
        name=f"d{index}.example",
        interval_seconds=interval,
        window_start=time(start // 60, start % 60),
        window_end=time(end // 60, end % 60),
        working_days=tuple(sorted(draw(st.sets(st.integers(1, 7), min_size=1)))),
        timezone=draw(st.sampled_from(ZONES)) if any_zone else "Europe/Amsterdam",
        skip_holidays=draw(st.booleans()),
        aliases=tuple(
            draw(st.sampled_from([["christian"], ["christian", "victor"], ["a", "b", "c"]]))
        ),
        paused=draw(st.booleans()) if index else False,
        label=f"v{index}",
    )


@st.composite
def scenarios(draw: st.DrawFn, max_steps: int = 4) -> tuple:
    base = draw(st.sampled_from(BASES))
    now = base + timedelta(minutes=draw(st.integers(0, 4 * 24 * 60)))
    start_at = draw(
        st.none() | st.integers(-3 * 24 * 60, 6 * 24 * 60).map(lambda m: now + timedelta(minutes=m))
    )
    domains = [draw(domain_specs(i)) for i in range(draw(st.integers(1, 3)))]
    taken = {
        d.name: [
            now + timedelta(minutes=m)
            for m in draw(st.lists(st.integers(-24 * 60, 12 * 24 * 60), max_size=40))
        ]
        for d in domains
    }
    steps = draw(st.integers(1, max_steps))
    leads = fresh_leads([f"lead-{i}" for i in range(draw(st.integers(0, 40)))], steps)
    followup_days = draw(st.integers(0, 4))
    step_delays = tuple(draw(st.lists(st.integers(0, 6), max_size=3)))
    return domains, taken, leads, PlanSettings(start_at, followup_days, step_delays), now


@PROPERTY_SETTINGS
@given(scenarios())
def test_every_plan_keeps_every_rule(scenario: tuple) -> None:
    domains, taken, leads, plan_settings, now = scenario
    result = plan(domains, taken, leads, plan_settings, now)
    check_plan(domains, taken, leads, plan_settings, now, result)


@PROPERTY_SETTINGS
@given(scenarios(max_steps=1))
def test_without_follow_ups_the_plan_takes_the_earliest_free_slots(scenario: tuple) -> None:
    domains, taken, leads, plan_settings, now = scenario
    result = plan(domains, taken, leads, plan_settings, now)
    start = max(plan_settings.start_at or now, now)
    expected = earliest_free(domains, taken, start, len(leads))
    assert [(m.scheduled_at, m.domain) for m in result] == expected


@st.composite
def replans(draw: st.DrawFn) -> tuple:
    """Leads already bound to a sender, some with a mail already out."""
    domains, taken, _leads, plan_settings, now = draw(scenarios())
    leads = []
    for i in range(draw(st.integers(0, 25))):
        first = draw(st.integers(1, 4))
        last = draw(st.integers(first, 4))
        spec = draw(st.sampled_from(domains))
        sent = draw(st.booleans()) and first > 1
        after = now - timedelta(minutes=draw(st.integers(0, 6 * 24 * 60))) if sent else None
        fixed = draw(st.booleans()) or sent
        leads.append(
            LeadSpec(
                f"lead-{i}",
                tuple(range(first, last + 1)),
                spec.name if fixed else None,
                draw(st.sampled_from(spec.aliases)) if fixed else None,
                after,
            )
        )
    return domains, taken, leads, plan_settings, now


@PROPERTY_SETTINGS
@given(replans())
def test_a_replan_keeps_senders_order_and_follow_up_spacing(scenario: tuple) -> None:
    domains, taken, leads, plan_settings, now = scenario
    if not any(not d.paused for d in domains):
        return
    result = plan(domains, taken, leads, plan_settings, now)
    check_plan(domains, taken, leads, plan_settings, now, result)


def slots_per_day(spec: DomainSpec) -> int:
    minutes = (spec.window_end.hour - spec.window_start.hour) * 60 + (
        spec.window_end.minute - spec.window_start.minute
    )
    return math.ceil(minutes * 60 / spec.interval_seconds)


@st.composite
def uniform_calendars(draw: st.DrawFn) -> tuple:
    """Domains sharing one calendar, windows clear of the night's DST changes."""
    working_days = tuple(sorted(draw(st.sets(st.integers(1, 7), min_size=1))))
    skip = draw(st.booleans())
    domains = []
    for i in range(draw(st.integers(1, 4))):
        start = draw(st.integers(6 * 60, 20 * 60))
        end = draw(st.integers(start + 1, 22 * 60))
        domains.append(
            DomainSpec(
                f"d{i}.example",
                interval_seconds=draw(st.sampled_from(INTERVALS) | st.integers(300, 7200)),
                window_start=time(start // 60, start % 60),
                window_end=time(end // 60, end % 60),
                working_days=working_days,
                skip_holidays=skip,
            )
        )
    base = draw(st.sampled_from(BASES)).date() + timedelta(days=draw(st.integers(0, 6)))
    first_day = base
    while not works(domains[0], first_day):
        first_day += timedelta(days=1)
    now = datetime.combine(first_day, time(0), ZoneInfo("Europe/Amsterdam")).astimezone(UTC)
    # At most a year of slots: a plan longer than the planner's horizon is refused.
    weekly = sum(slots_per_day(d) for d in domains) * len(working_days)
    return domains, now, draw(st.integers(1, min(600, weekly * 50)))


@PROPERTY_SETTINGS
@given(uniform_calendars())
def test_without_follow_ups_the_finish_day_is_the_lower_bound(scenario: tuple) -> None:
    domains, now, lead_count = scenario
    result = plan(
        domains, {}, fresh_leads([str(i) for i in range(lead_count)], 1), PlanSettings(), now
    )
    per_day = sum(slots_per_day(d) for d in domains)
    days = math.ceil(lead_count / per_day)
    zone = ZoneInfo("Europe/Amsterdam")
    first_day = now.astimezone(zone).date()
    expected_day = add_working_days(domains[0], first_day, days - 1)
    assert max(m.scheduled_at for m in result).astimezone(zone).date() == expected_day
