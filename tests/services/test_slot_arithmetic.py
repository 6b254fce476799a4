"""A day's slots worked out by arithmetic (one UTC offset all day) are exactly the slots
walked wall-clock time by wall-clock time, in every zone, pace and window; mails counted per
local day by day bounds are counted as converting each mail would."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.services.test_planner_properties import ZONES
from webapp.services.planning.report import _per_local_day
from webapp.services.planning.slots import DomainCalendar, DomainSpec


class WalkedCalendar(DomainCalendar):
    """Every day walked slot by slot, as before the arithmetic."""

    def is_ordinary(self, day: date) -> bool:
        return False


@st.composite
def specs(draw: st.DrawFn) -> DomainSpec:
    start = draw(st.integers(0, 23 * 60 + 59))
    end = draw(st.integers(0, 23 * 60 + 59))
    return DomainSpec(
        name="d.example",
        interval_seconds=draw(st.sampled_from([60, 300, 1200, 3600]) | st.integers(1, 90000)),
        window_start=time(start // 60, start % 60),
        window_end=time(end // 60, end % 60),
        working_days=tuple(sorted(draw(st.sets(st.integers(1, 7), min_size=1)))),
        timezone=draw(st.sampled_from(ZONES)),
        skip_holidays=draw(st.booleans()),
    )


# A week before a DST change in Europe, the US, Lord Howe or Chatham, or any day.
AROUND_CHANGES = st.sampled_from(
    [date(2026, 3, 24), date(2026, 10, 20), date(2026, 3, 5), date(2026, 10, 29),
     date(2026, 4, 1), date(2026, 9, 22), date(2027, 3, 23), date(2027, 10, 26)]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(specs(), AROUND_CHANGES | st.dates(date(2025, 1, 1), date(2028, 12, 31)), st.integers(1, 10))
def test_slots_by_arithmetic_equal_the_slots_walked(
    spec: DomainSpec, first: date, days: int
) -> None:
    fast, walked = DomainCalendar(spec), WalkedCalendar(spec)
    for offset in range(days):
        day = first + timedelta(days=offset)
        assert fast.slots(day) == walked.slots(day)
        assert fast.capacity(day) == len(walked.slots(day))


@settings(max_examples=200, deadline=None)
@given(
    specs(),
    AROUND_CHANGES,
    st.lists(st.integers(0, 14 * 24 * 60), max_size=300),
)
def test_mails_per_local_day_equal_each_mail_converted(
    spec: DomainSpec, first: date, minutes: list[int]
) -> None:
    calendar = DomainCalendar(spec)
    start = datetime.combine(first, time(0), UTC)
    moments = [start + timedelta(minutes=m) for m in minutes]
    expected = Counter(calendar.local_date(m) for m in moments)
    assert _per_local_day(calendar, moments) == expected
