"""Property tests of daily caps and warm-up ramps in the pure planner.

The allowance of a day is worked out here on its own (plain loops over `works`), so a
bug in `DomainCalendar.allowance` is not repeated by the check.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from tests.services.planner_rules import check_plan, grid, is_free, works
from tests.services.test_planner_properties import PROPERTY_SETTINGS, replans, scenarios
from webapp.services.planning.planner import DomainSpec, PlanSettings, fresh_leads, plan
from webapp.services.planning.slots import DomainCalendar, with_ramp_start


def allowance(spec: DomainSpec, day: date) -> int | None:
    """min(cap, ramp start + step x working days after the ramp's first day up to `day`)."""
    if spec.ramp_start is None:
        return spec.daily_cap
    grown = 0
    if spec.ramp_started_on is not None:
        current = spec.ramp_started_on + timedelta(days=1)
        while current <= day:
            grown += works(spec, current)
            current += timedelta(days=1)
    value = spec.ramp_start + spec.ramp_step * grown
    return value if spec.daily_cap is None else min(value, spec.daily_cap)


def ramp_begun(spec: DomainSpec, start: datetime) -> DomainSpec:
    """A ramp that waits for the domain's first mail begins on the first day with a slot
    at or after `start` (worked out from the plain grid)."""
    if spec.ramp_start is None or spec.ramp_started_on is not None:
        return spec
    zone = ZoneInfo(spec.timezone)
    local = start.astimezone(zone).date()
    for moment in grid(spec, local - timedelta(days=3), 400):
        if moment >= start:
            return replace(spec, ramp_started_on=moment.astimezone(zone).date())
    return spec


@st.composite
def warm_up(draw: st.DrawFn, spec: DomainSpec, now: datetime) -> DomainSpec:
    """A cap, a ramp, both or neither, with a ramp begun up to three weeks around now, or
    one still waiting for the domain's first mail."""
    cap = draw(st.none() | st.integers(1, 12))
    ramp = draw(st.none() | st.integers(1, 6))
    today = now.astimezone(ZoneInfo(spec.timezone)).date()
    return replace(
        spec,
        daily_cap=cap,
        ramp_start=ramp,
        ramp_step=draw(st.integers(0, 4)) if ramp is not None else 0,
        ramp_started_on=(
            draw(st.none() | st.just(today + timedelta(days=draw(st.integers(-21, 7)))))
            if ramp is not None
            else None
        ),
    )


@st.composite
def used_days(draw: st.DrawFn, specs: list[DomainSpec], now: datetime) -> dict:
    """Mail already on some days of each domain (sent today, other campaigns' queued)."""
    used = {}
    for spec in specs:
        today = now.astimezone(ZoneInfo(spec.timezone)).date()
        days = draw(st.dictionaries(st.integers(0, 12), st.integers(1, 8), max_size=5))
        used[spec.name] = {today + timedelta(days=k): n for k, n in days.items()}
    return used


@st.composite
def capped(draw: st.DrawFn, base: st.SearchStrategy = scenarios()) -> tuple:  # noqa: B008
    domains, taken, leads, plan_settings, now = draw(base)
    domains = [draw(warm_up(d, now)) for d in domains]
    return domains, taken, leads, plan_settings, now, draw(used_days(domains, now))


def assert_within_allowance(domains, used, result, start) -> None:  # type: ignore[no-untyped-def]
    specs = {d.name: ramp_begun(d, start) for d in domains}
    per_day: Counter[tuple[str, date]] = Counter()
    for m in result:
        zone = ZoneInfo(specs[m.domain].timezone)
        per_day[(m.domain, m.scheduled_at.astimezone(zone).date())] += 1
    for (name, day), count in per_day.items():
        allowed = allowance(specs[name], day)
        if allowed is not None:
            already = used.get(name, {}).get(day, 0)
            assert already + count <= allowed, f"{name} on {day}: {already} + {count} > {allowed}"


@PROPERTY_SETTINGS
@given(capped())
def test_no_domain_day_gets_more_than_its_allowance(scenario: tuple) -> None:
    domains, taken, leads, plan_settings, now, used = scenario
    result = plan(domains, taken, leads, plan_settings, now, used)
    check_plan(domains, taken, leads, plan_settings, now, result)
    assert_within_allowance(domains, used, result, max(plan_settings.start_at or now, now))


@PROPERTY_SETTINGS
@given(capped(replans()))
def test_a_capped_replan_keeps_every_rule(scenario: tuple) -> None:
    domains, taken, leads, plan_settings, now, used = scenario
    if not any(not d.paused for d in domains):
        return
    result = plan(domains, taken, leads, plan_settings, now, used)
    check_plan(domains, taken, leads, plan_settings, now, result)
    assert_within_allowance(domains, used, result, max(plan_settings.start_at or now, now))


@PROPERTY_SETTINGS
@given(scenarios(), st.data())
def test_without_cap_or_ramp_the_plan_is_unchanged(scenario: tuple, data: st.DataObject) -> None:
    """No cap: day counts are ignored, and a cap no day can reach changes nothing either."""
    domains, taken, leads, plan_settings, now = scenario
    before = plan(domains, taken, leads, plan_settings, now)
    used = data.draw(used_days(domains, now))
    assert plan(domains, taken, leads, plan_settings, now, used) == before
    roomy = [replace(d, daily_cap=100_000) for d in domains]
    assert plan(roomy, taken, leads, plan_settings, now, used) == before


def earliest_within_allowance(
    domains: list[DomainSpec], taken: dict, used: dict, start: datetime, count: int
) -> list[tuple[datetime, str]]:
    """The `count` earliest free slots over the active domains, a day's beyond its
    allowance left out."""
    candidates: list[tuple[datetime, int, str]] = []
    for order, spec in enumerate(d for d in domains if not d.paused):
        zone = ZoneInfo(spec.timezone)
        interval = timedelta(seconds=spec.interval_seconds)
        first = start.astimezone(zone).date() - timedelta(days=3)
        counts: Counter[date] = Counter(used.get(spec.name, {}))
        spec = ramp_begun(spec, start)
        picked = 0
        for moment in grid(spec, first, 400):
            if picked == count:
                break
            day = moment.astimezone(zone).date()
            allowed = allowance(spec, day)
            if moment < start or not is_free(moment, taken.get(spec.name, []), interval):
                continue
            if allowed is not None and counts[day] >= allowed:
                continue
            counts[day] += 1
            picked += 1
            candidates.append((moment, order, spec.name))
    return [(moment, name) for moment, _, name in sorted(candidates)[:count]]


@PROPERTY_SETTINGS
@given(capped(scenarios(max_steps=1)))
def test_a_capped_plan_takes_the_earliest_slots_the_allowances_leave(scenario: tuple) -> None:
    domains, taken, leads, plan_settings, now, used = scenario
    start = max(plan_settings.start_at or now, now)
    result = plan(domains, taken, leads, plan_settings, now, used)
    expected = earliest_within_allowance(domains, taken, used, start, len(leads))
    assert [(m.scheduled_at, m.domain) for m in result] == expected


@PROPERTY_SETTINGS
@given(capped())
def test_the_calendar_allowance_matches_the_rule(scenario: tuple) -> None:
    domains, _taken, _leads, _settings, now, _used = scenario
    for waiting in domains:
        spec = ramp_begun(waiting, now)
        calendar = DomainCalendar(with_ramp_start(waiting, now))
        assert calendar.spec.ramp_started_on == spec.ramp_started_on
        today = calendar.local_date(now)
        for k in range(-3, 30):
            day = today + timedelta(days=k)
            expected = allowance(spec, day)
            if expected is None:
                assert calendar.allowance(day) is None
            else:
                # Without a cap a ramp stops counting once it passes what the window holds.
                assert calendar.day_limit(day) == min(calendar.capacity(day), expected), day


def test_a_ramp_spreads_a_campaign_over_growing_days() -> None:
    """20 a day, growing by 10 a working day to 50: 150 mails need 20+30+40+50+10."""
    spec = DomainSpec(
        "v1.example",
        interval_seconds=60,
        daily_cap=50,
        ramp_start=20,
        ramp_step=10,
        ramp_started_on=date(2026, 6, 1),  # a Monday
    )
    now = datetime(2026, 6, 1, 5, 0, tzinfo=ZoneInfo("UTC"))
    result = plan([spec], {}, fresh_leads([str(i) for i in range(150)], 1), PlanSettings(), now)
    zone = ZoneInfo(spec.timezone)
    per_day = Counter(m.scheduled_at.astimezone(zone).date() for m in result)
    assert sorted(per_day.items()) == [
        (date(2026, 6, 1), 20),
        (date(2026, 6, 2), 30),
        (date(2026, 6, 3), 40),
        (date(2026, 6, 4), 50),
        (date(2026, 6, 5), 10),
    ]
