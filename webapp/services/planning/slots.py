"""Slot arithmetic of one sending domain: window, interval, working days, holidays, DST.

Pure: no database, no clock. A slot is a local wall-clock time (window start + k x
interval, before window end, on a working day) converted to UTC with zoneinfo.
"""

from __future__ import annotations

import hashlib
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from flask_babel import gettext as _

from webapp.formats import thousands

# A plan that needs more calendar days than this cannot be placed (no working days,
# a window that never exists...). Ten years is far beyond any real campaign.
HORIZON_DAYS = 3660


class PlanError(ValueError):
    """The plan cannot be made: no usable domain, or no slot within the horizon."""


@dataclass(frozen=True)
class DomainSpec:
    """The settings of a sending domain that decide where its slots are."""

    name: str
    interval_seconds: int = 1200
    window_start: time = time(9, 0)
    window_end: time = time(18, 0)
    working_days: tuple[int, ...] = (1, 2, 3, 4, 5)  # ISO weekdays, Monday 1
    timezone: str = "Europe/Amsterdam"
    skip_holidays: bool = True
    aliases: tuple[str, ...] = ("christian", "victor")
    paused: bool = False
    label: str = ""
    # Warm-up: at most `daily_cap` mails a day (None: what the window holds); a ramp starts
    # at `ramp_start` on `ramp_started_on` and adds `ramp_step` each working day after it.
    # A ramp no mail has gone under yet has no start: `with_ramp_start` gives it one.
    daily_cap: int | None = None
    ramp_start: int | None = None
    ramp_step: int = 0
    ramp_started_on: date | None = None
    # The ramp waits for the domain's first mail: `ramp_started_on` is where it would begin.
    ramp_waits: bool = False

    @property
    def limited(self) -> bool:
        """Whether a cap or a ramp bounds the mails of a day below what the window holds."""
        return self.daily_cap is not None or self.ramp_start is not None


@lru_cache(maxsize=64)
def dutch_holidays(year: int) -> frozenset[date]:
    """The Dutch public holidays of one year (King's Day, Christmas, ...)."""
    return frozenset(holidays.country_holidays("NL", years=[year]).keys())


@lru_cache(maxsize=4096)
def _one_offset(timezone: str, day: date) -> bool:
    """The zone keeps one UTC offset from the day before `day` to the day after it."""
    zone = ZoneInfo(timezone)
    offsets = {
        datetime.combine(day + timedelta(days=k), time(0), zone).utcoffset() for k in (-1, 0, 1, 2)
    }
    return len(offsets) == 1


@lru_cache(maxsize=1024)
def _even_slots(
    timezone: str, window_start: time, interval_seconds: int, day: date, count: int
) -> tuple[datetime, ...]:
    """`count` slots from the window's start, one interval apart (a day of one offset)."""
    first = datetime.combine(day, window_start, ZoneInfo(timezone)).astimezone(UTC)
    interval = timedelta(seconds=interval_seconds)
    return tuple(first + k * interval for k in range(count))


@dataclass
class DomainCalendar:
    """Working days and slots of one domain, computed lazily and cached per day."""

    spec: DomainSpec
    zone: ZoneInfo = field(init=False)
    interval: timedelta = field(init=False)
    _days: dict[date, list[datetime]] = field(default_factory=dict, init=False)
    _raw: dict[date, list[datetime]] = field(default_factory=dict, init=False)
    _shift: dict[tuple[date, int], date] = field(default_factory=dict, init=False)
    _allowed: dict[date, int | None] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.zone = ZoneInfo(self.spec.timezone)
        self.interval = timedelta(seconds=self.spec.interval_seconds)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def day_start(self, day: date) -> datetime:
        """The first instant of a local day, in UTC."""
        return datetime.combine(day, time(0), self.zone).astimezone(UTC)

    def is_working_day(self, day: date) -> bool:
        if day.isoweekday() not in self.spec.working_days:
            return False
        return not (self.spec.skip_holidays and day in dutch_holidays(day.year))

    def next_working_day(self, day: date) -> date:
        """`day` itself if it is a working day, else the first one after it."""
        for offset in range(HORIZON_DAYS):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise PlanError(
            _(
                "%(domain)s has no working day within %(days)s days",
                domain=self.spec.name,
                days=thousands(HORIZON_DAYS),
            )
        )

    def add_working_days(self, day: date, count: int) -> date:
        """The working day `count` working days after `day` (`day` itself need not work)."""
        key = (day, count)
        if key not in self._shift:
            current = day
            for _ in range(count):
                current = self.next_working_day(current + timedelta(days=1))
            self._shift[key] = current
        return self._shift[key]

    def working_days_between(self, first: date, last: date) -> int:
        """How many working days lie in [first, last]."""
        return sum(
            1
            for offset in range((last - first).days + 1)
            if self.is_working_day(first + timedelta(days=offset))
        )

    def allowance(self, day: date) -> int | None:
        """How many mails the domain may send on `day` by its cap and ramp (None: no bound
        but the window): min(cap, ramp start + step x working days since the ramp began);
        days up to the ramp's first count as its day 0. Without a cap the ramp stops
        growing once it passes what any day of the window holds."""
        spec = self.spec
        if spec.ramp_start is None:
            return spec.daily_cap
        if day in self._allowed:
            return self._allowed[day]
        target = spec.daily_cap
        if target is None:  # no cap: the ramp grows until the window is the bound
            target = self.slots_per_day() + 86400 // max(1, spec.interval_seconds) + 1
        grown = 0
        started = spec.ramp_started_on
        if spec.ramp_step > 0 and started is not None and day > started:
            # Counting stops once the ramp has reached its target.
            enough = -(-(target - spec.ramp_start) // spec.ramp_step)
            current = started
            while grown < enough:
                current = self.next_working_day(current + timedelta(days=1))
                if current > day:
                    break
                grown += 1
        allowed = spec.ramp_start + spec.ramp_step * grown
        value = allowed if spec.daily_cap is None else min(spec.daily_cap, allowed)
        self._allowed[day] = value
        return value

    def day_limit(self, day: date) -> int:
        """The most mails `day` can carry: its usable slots, bounded by the allowance."""
        allowed = self.allowance(day)
        capacity = self.capacity(day)
        return capacity if allowed is None else min(capacity, allowed)

    def grid(self, day: date) -> list[datetime]:
        """Every wall-clock slot of a day that exists (not in a DST gap), in UTC."""
        if day not in self._raw:
            slots: list[datetime] = []
            if self.is_working_day(day):
                local = datetime.combine(day, self.spec.window_start)
                end = datetime.combine(day, self.spec.window_end)
                while local < end:
                    aware = local.replace(tzinfo=self.zone)
                    moment = aware.astimezone(UTC)
                    # A time skipped by a spring-forward change maps to another wall time.
                    if moment.astimezone(self.zone).replace(tzinfo=None) == local:
                        slots.append(moment)
                    local += self.interval
            self._raw[day] = slots
        return self._raw[day]

    def slots(self, day: date) -> list[datetime]:
        """The day's usable slots: the grid, minus any slot closer than the interval
        to the grid slot before it (only possible next to a DST change)."""
        if day not in self._days and self.is_working_day(day) and self.is_ordinary(day):
            # One UTC offset all day and a night longer than the interval: the slots are
            # the first one plus multiples of the interval, with no zone arithmetic each.
            # Shared by every domain with the same zone, window and pace (a copy each).
            spec = self.spec
            self._days[day] = list(
                _even_slots(
                    spec.timezone,
                    spec.window_start,
                    spec.interval_seconds,
                    day,
                    self.slots_per_day(),
                )
            )
        if day not in self._days:
            grid = self.grid(day)
            kept: list[datetime] = []
            previous = self._previous_grid_slot(day) if grid else None
            for moment in grid:
                if previous is None or moment - previous >= self.interval:
                    kept.append(moment)
                previous = moment
            self._days[day] = kept
        return self._days[day]

    def _previous_grid_slot(self, day: date) -> datetime | None:
        # Only a slot within one interval matters; look back just far enough.
        lookback = self.spec.interval_seconds // 86400 + 2
        for offset in range(1, lookback + 1):
            grid = self.grid(day - timedelta(days=offset))
            if grid:
                return grid[-1]
        return None

    def window_end_at(self, moment: datetime) -> datetime:
        """The instant the window of `moment`'s local day closes."""
        return datetime.combine(
            self.local_date(moment), self.spec.window_end, self.zone
        ).astimezone(UTC)

    def send_moment(self, message_id: str, slot: datetime) -> datetime:
        """The moment a message of this slot goes: the slot plus its `send_offset`."""
        offset = send_offset(message_id, slot, self.spec.interval_seconds, self.window_end_at(slot))
        return slot + offset

    def window_open_at(self, moment: datetime) -> datetime | None:
        """`moment` itself when it lies inside the sending window, else the instant the
        window next opens (None when it never does: no working day within the horizon)."""
        local = moment.astimezone(self.zone)
        day = local.date()
        wall = local.time().replace(tzinfo=None)
        start, end = self.spec.window_start, self.spec.window_end
        if self.is_working_day(day) and wall < end:
            if wall >= start:
                return moment
        else:
            day += timedelta(days=1)
        try:
            day = self.next_working_day(day)
        except PlanError:
            return None
        # A window start inside a spring-forward gap opens at the first wall time after it.
        return datetime.combine(day, start, self.zone).astimezone(UTC)

    def capacity(self, day: date) -> int:
        """How many usable slots `day` has: `len(self.slots(day))`, worked out by arithmetic
        on ordinary days so that a 60-second pace builds no list of 540 datetimes a day."""
        if day in self._days:
            return len(self._days[day])
        if not self.is_working_day(day):
            return 0
        if self.is_ordinary(day):
            return self.slots_per_day()
        return len(self.slots(day))

    def is_ordinary(self, day: date) -> bool:
        """No change of UTC offset from the day before to the day after, and a night longer
        than one interval (an hour to spare), so no slot is skipped or dropped."""
        start = self.spec.window_start.hour * 3600 + self.spec.window_start.minute * 60
        end = self.spec.window_end.hour * 3600 + self.spec.window_end.minute * 60
        window = (self.spec.window_start, self.spec.window_end)
        if any(t.second or t.microsecond or t.tzinfo for t in window):
            return False
        if self.spec.interval_seconds > 86400 - max(0, end - start) - 3600:
            return False
        return _one_offset(self.spec.timezone, day)

    def slots_per_day(self) -> int:
        """Slots of an ordinary day (no DST change): window length / interval, rounded up."""
        start = self.spec.window_start.hour * 3600 + self.spec.window_start.minute * 60
        end = self.spec.window_end.hour * 3600 + self.spec.window_end.minute * 60
        return max(0, -(-(end - start) // self.spec.interval_seconds))


def with_ramp_start(spec: DomainSpec, start: datetime) -> DomainSpec:
    """The domain as planned from `start`: a ramp that waits for its first mail (no
    `ramp_started_on`) begins on the first day a slot lies at or after `start`, the day
    the first mail can go. The send sets the real day when that mail goes."""
    if spec.ramp_start is None or spec.ramp_started_on is not None:
        return spec
    calendar = DomainCalendar(spec)
    day = calendar.local_date(start)
    limit = day + timedelta(days=HORIZON_DAYS)
    try:
        day = calendar.next_working_day(day)
        while day <= limit:
            slots = calendar.slots(day)
            if slots and slots[-1] >= start:
                break
            day = calendar.next_working_day(day + timedelta(days=1))
    except PlanError:
        pass  # no working day: nothing is planned on it, whichever day the ramp starts
    return replace(spec, ramp_started_on=day, ramp_waits=True)


def send_offset(
    message_id: str, slot: datetime, interval_seconds: int, window_end_at: datetime
) -> timedelta:
    """Where inside its slot a message goes: a moment drawn from a hash of its id, so the
    same message always gets the same one, within nine tenths of the slot (or of what is
    left of the window, for a last slot cut short), whole seconds.

    The dispatcher's claim on PostgreSQL restates this in SQL (`sending.claims`).
    """
    room = min(interval_seconds, int((window_end_at - slot).total_seconds()))
    span = max(0, room) * 9 // 10
    share = int(hashlib.md5(message_id.encode(), usedforsecurity=False).hexdigest()[:4], 16)
    return timedelta(seconds=share * span // 65536)


class SlotCursor:
    """Walks a domain's free slots in time order, from a start instant on.

    A slot is free when no taken time (another campaign's booking, a recent send;
    possibly off the grid) lies closer than the interval to it.
    """

    def __init__(self, calendar: DomainCalendar, taken: list[datetime], start: datetime) -> None:
        self.calendar = calendar
        self.taken = sorted(taken)
        self._taken_index = 0
        self._limit = calendar.local_date(start) + timedelta(days=HORIZON_DAYS)
        self._load(calendar.local_date(start))
        self._index = bisect_left(self._slots, start)

    def _load(self, day: date) -> None:
        self._day = self.calendar.next_working_day(day)
        if self._day > self._limit:
            raise PlanError(
                _("no free slot on %(domain)s within the horizon", domain=self.calendar.spec.name)
            )
        self._slots = self.calendar.slots(self._day)
        self._index = 0

    @property
    def day(self) -> date:
        """The local day of the slots the cursor is in (that of the slot just taken)."""
        return self._day

    def peek(self) -> datetime:
        """The next free slot (it stays the next one until `take`)."""
        interval = self.calendar.interval
        taken = self.taken
        while True:
            while self._index >= len(self._slots):
                self._load(self._day + timedelta(days=1))
            moment = self._slots[self._index]
            while self._taken_index < len(taken) and taken[self._taken_index] <= moment - interval:
                self._taken_index += 1
            if self._taken_index < len(taken) and taken[self._taken_index] < moment + interval:
                self._index += 1
                continue
            return moment

    def take(self) -> datetime:
        """Use the next free slot and return it."""
        moment = self.peek()
        self._index += 1
        return moment

    def seek(self, moment: datetime) -> None:
        """Skip every slot before `moment`."""
        day = self.calendar.local_date(moment)
        if day > self._day:
            self._load(day)
        if day >= self._day:
            self._index = max(self._index, bisect_left(self._slots, moment))


def count_taken_between(taken: list[datetime], first: datetime, last: datetime) -> int:
    """How many of the sorted `taken` times lie in [first, last] (none when last < first:
    a plan that ends before it could start takes nothing from anyone)."""
    return max(0, bisect_right(taken, last) - bisect_left(taken, first))


def nth_free_slot(
    calendar: DomainCalendar,
    taken: list[datetime],
    start: datetime,
    count: int,
    not_after: datetime | None = None,
    used: dict[date, int] | None = None,
) -> datetime | None:
    """The `count`-th free slot of the domain from `start` on (the moment its last mail of
    `count` would go if it had them all), or None when that lies after `not_after`.
    A domain with a cap or ramp offers no more of a day than its allowance less `used`.

    Whole days without a taken time nearby are counted at once, so a domain with a long,
    empty calendar costs one step a day rather than one a slot.
    """
    taken = sorted(taken)
    interval = calendar.interval
    remaining = max(1, count)
    day = calendar.local_date(start)
    limit = day + timedelta(days=HORIZON_DAYS)
    while True:
        day = calendar.next_working_day(day)
        if day > limit:
            return None
        slots = calendar.slots(day)
        first = bisect_left(slots, start) if slots and slots[0] < start else 0
        slots = slots[first:]
        if not_after is not None and slots and slots[0] > not_after:
            return None
        allowed = calendar.allowance(day)
        left = len(slots)
        if allowed is not None:
            left = max(0, min(left, allowed - (used or {}).get(day, 0)))
        if slots and left:
            low = bisect_right(taken, slots[0] - interval)
            busy = low < len(taken) and taken[low] < slots[-1] + interval
            if not busy and left < remaining:
                remaining -= left
            else:
                cursor = SlotCursor(calendar, taken, slots[0])
                day_end = calendar.day_start(day + timedelta(days=1))
                while left:
                    moment = cursor.peek()
                    if moment >= day_end:
                        break
                    left -= 1
                    cursor.take()
                    remaining -= 1
                    if remaining == 0:
                        return None if not_after is not None and moment > not_after else moment
        day += timedelta(days=1)
