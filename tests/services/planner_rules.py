"""The planning rules (docs/rules.md, "Planning"), checked against a finished plan.

Written independently of webapp/services/slots.py: plain loops over wall-clock
times, zoneinfo and the holidays library, so a bug there is not repeated here.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import holidays

from webapp.services.planning.planner import DomainSpec, LeadSpec, PlannedMessage, PlanSettings

NL = holidays.country_holidays("NL", years=range(2024, 2036))


def works(spec: DomainSpec, day: date) -> bool:
    return day.isoweekday() in spec.working_days and not (spec.skip_holidays and day in NL)


def add_working_days(spec: DomainSpec, day: date, count: int) -> date:
    while count:
        day += timedelta(days=1)
        if works(spec, day):
            count -= 1
    return day


def seconds(moment: time) -> int:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def grid(spec: DomainSpec, first: date, days: int) -> list[datetime]:
    """Every usable slot of `days` days from `first`: existing wall-clock times on the
    grid, without a slot closer than the interval to the grid slot before it."""
    zone = ZoneInfo(spec.timezone)
    result: list[datetime] = []
    previous: datetime | None = None
    for offset in range(days):
        day = first + timedelta(days=offset)
        if not works(spec, day):
            continue
        for second in range(
            seconds(spec.window_start), seconds(spec.window_end), spec.interval_seconds
        ):
            naive = datetime.combine(day, time(0)) + timedelta(seconds=second)
            moment = naive.replace(tzinfo=zone).astimezone(UTC)
            if moment.astimezone(zone).replace(tzinfo=None) != naive:
                continue
            if previous is None or moment - previous >= timedelta(seconds=spec.interval_seconds):
                result.append(moment)
            previous = moment
    return result


def is_free(moment: datetime, taken: list[datetime], interval: timedelta) -> bool:
    return all(abs(moment - t) >= interval for t in taken)


def earliest_free(
    domains: list[DomainSpec], taken: dict[str, list[datetime]], start: datetime, count: int
) -> list[tuple[datetime, str]]:
    """The `count` earliest free slots over all active domains, by (time, domain order)."""
    candidates: list[tuple[datetime, int, str]] = []
    for order, spec in enumerate(d for d in domains if not d.paused):
        zone = ZoneInfo(spec.timezone)
        first = start.astimezone(zone).date() - timedelta(days=3)
        interval = timedelta(seconds=spec.interval_seconds)
        found = 0
        days = 14
        picked: list[tuple[datetime, int, str]] = []
        while found < count:
            found = 0
            picked = []
            for moment in grid(spec, first, days):
                if moment >= start and is_free(moment, taken.get(spec.name, []), interval):
                    picked.append((moment, order, spec.name))
                    found += 1
                    if found == count:
                        break
            days *= 2
        candidates.extend(picked)
    return [(moment, name) for moment, _, name in sorted(candidates)[:count]]


def check_plan(
    domains: list[DomainSpec],
    taken: dict[str, list[datetime]],
    leads: list[LeadSpec],
    settings: PlanSettings,
    now: datetime,
    result: list[PlannedMessage],
) -> None:
    """Assert every planning rule for one plan."""
    specs = {d.name: d for d in domains}
    start = max(settings.start_at or now, now)
    active = {d.name for d in domains if not d.paused}

    # Every mail of every lead is planned once, on an active domain.
    expected = {
        (lead.lead_id, n)
        for lead in leads
        for n in lead.mail_numbers
        if lead.domain is None or lead.domain in active
    }
    planned = [(m.lead_id, m.mail_number) for m in result]
    assert len(planned) == len(set(planned)), "a mail is planned twice"
    assert set(planned) == expected

    by_domain: dict[str, list[datetime]] = defaultdict(list)
    for m in result:
        spec = specs[m.domain]
        zone = ZoneInfo(spec.timezone)
        local = m.scheduled_at.astimezone(zone)
        naive = local.replace(tzinfo=None)
        assert m.domain in active, f"{m} on a paused domain"
        assert m.scheduled_at >= start, f"{m} before the start {start}"
        assert works(spec, local.date()), f"{m} on a day off ({local:%A %d-%m-%Y})"
        assert spec.window_start <= local.time() < spec.window_end, f"{m} outside the window"
        offset = seconds(local.time()) - seconds(spec.window_start)
        assert offset % spec.interval_seconds == 0, f"{m} off the grid"
        assert naive.replace(tzinfo=zone).astimezone(UTC) == m.scheduled_at, "not a wall time"
        assert m.alias in spec.aliases
        by_domain[m.domain].append(m.scheduled_at)

    # One message per slot, consecutive mails an interval apart, clear of taken slots.
    for name, moments in by_domain.items():
        interval = timedelta(seconds=specs[name].interval_seconds)
        moments.sort()
        for earlier, later in pairwise(moments):
            assert later - earlier >= interval, f"{name}: {earlier} and {later} too close"
        others = sorted(taken.get(name, []))
        for moment in moments:
            index = bisect_left(others, moment - interval + timedelta(microseconds=1))
            assert index == len(others) or others[index] >= moment + interval, (
                f"{name}: {moment} collides with a taken slot {others[index]}"
            )

    # Sticky sender; aliases alternate between the leads of a domain.
    lead_by_id = {lead.lead_id: lead for lead in leads}
    mails: dict[str, list[PlannedMessage]] = defaultdict(list)
    for m in result:
        mails[m.lead_id].append(m)
    first_mails: dict[str, list[tuple[datetime, str, str]]] = defaultdict(list)
    for lead_id, own in mails.items():
        own.sort(key=lambda m: m.mail_number)
        lead = lead_by_id[lead_id]
        assert len({(m.domain, m.alias) for m in own}) == 1, f"lead {lead_id} changes sender"
        if lead.domain is not None:
            assert own[0].domain == lead.domain
            assert own[0].alias == (lead.alias or specs[lead.domain].aliases[0])
        else:
            first_mails[own[0].domain].append((own[0].scheduled_at, lead_id, own[0].alias))
    for name, firsts in first_mails.items():
        aliases = specs[name].aliases
        for index, (_, _, alias) in enumerate(sorted(firsts)):
            assert alias == aliases[index % len(aliases)], f"{name}: aliases do not alternate"

    # Follow-ups: in order, the right parent, each its own delay apart (`step_delays`, where
    # the campaign sets one for that mail number, else `followup_days` working days).
    def delay_before(number: int) -> int:
        delays = settings.step_delays
        return delays[number - 2] if 0 <= number - 2 < len(delays) else settings.followup_days

    due_of: dict[tuple[str, int], datetime] = {}
    for lead_id, own in mails.items():
        lead = lead_by_id[lead_id]
        spec = specs[own[0].domain]
        zone = ZoneInfo(spec.timezone)
        previous = lead.after
        for index, m in enumerate(own):
            assert m.mail_number == lead.mail_numbers[index]
            if index:
                assert m.parent_mail_number == own[index - 1].mail_number
            if previous is not None:
                delay = delay_before(m.mail_number)
                if delay == 0:
                    due = previous + timedelta(microseconds=1)
                else:
                    day = add_working_days(spec, previous.astimezone(zone).date(), delay)
                    due = datetime.combine(day, time(0), zone).astimezone(UTC)
                due_of[(lead_id, m.mail_number)] = due
                assert m.scheduled_at >= due, f"follow-up {m} earlier than {due}"
            previous = m.scheduled_at

    # Due follow-ups take a slot before new first mails.
    new_firsts: dict[str, list[datetime]] = defaultdict(list)
    for m in result:
        if (
            lead_by_id[m.lead_id].domain is None
            and m.mail_number == lead_by_id[m.lead_id].mail_numbers[0]
        ):
            new_firsts[m.domain].append(m.scheduled_at)
    for moments in new_firsts.values():
        moments.sort()
    for m in result:
        due = due_of.get((m.lead_id, m.mail_number))
        if due is None:
            continue
        firsts = new_firsts[m.domain]
        due_slot = max(due, start)
        assert bisect_left(firsts, due_slot) == bisect_left(firsts, m.scheduled_at), (
            f"a first mail took a slot while {m} was due"
        )

    # The new leads of the audience start in audience order.
    starts = [
        mails[lead.lead_id][0].scheduled_at
        for lead in leads
        if lead.domain is None and lead.lead_id in mails
    ]
    assert starts == sorted(starts), "leads do not start in audience order"
