"""The planner: every mail of a campaign placed into a real free slot of a shared domain.

Pure: domains, the slots other campaigns already took, the audience and the settings
in; a plan out. No database, no clock, no Flask, so it can be property-tested.

The plan walks all domains' free slots in time order (one heap over the domains,
each domain's slots generated lazily), and fills each slot with, in this order:
a due follow-up of that domain, a first mail already bound to that domain, the next
lead of the audience. Taking the next lead at the earliest free slot of any domain
is what spreads leads over several domains so that the campaign ends earliest;
without follow-ups the plan is exactly the earliest free slots. O(m log m).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import gettext as _

from webapp.services.planning.slots import (
    DomainCalendar,
    DomainSpec,
    PlanError,
    SlotCursor,
    with_ramp_start,
)

__all__ = [
    "DomainSpec",
    "LeadSpec",
    "PlanError",
    "PlanSettings",
    "PlannedMessage",
    "fresh_leads",
    "plan",
]

_JUST_AFTER = timedelta(microseconds=1)


@dataclass(frozen=True)
class LeadSpec:
    """One lead to plan: the mail numbers still to place, and its sender if fixed.

    A new lead has no domain; a lead being re-planned keeps its domain and alias,
    and `after` is when its last mail already out (sent or in flight) went.
    """

    lead_id: str
    mail_numbers: tuple[int, ...] = (1,)
    domain: str | None = None
    alias: str | None = None
    after: datetime | None = None


@dataclass(frozen=True)
class PlanSettings:
    start_at: datetime | None = None
    followup_days: int = 3
    # Working days before mail 2, 3 and 4 each, where the campaign sets them; a mail not
    # listed waits `followup_days`.
    step_delays: tuple[int, ...] = ()

    def delay_before(self, mail_number: int) -> int:
        index = mail_number - 2
        if 0 <= index < len(self.step_delays):
            return max(0, self.step_delays[index])
        return max(0, self.followup_days)

    def wait_days(self, steps: int) -> int:
        """The working days a lead's follow-ups wait in all, mail 2 up to mail `steps`."""
        return sum(self.delay_before(number) for number in range(2, steps + 1))


@dataclass(frozen=True)
class PlannedMessage:
    lead_id: str
    mail_number: int
    domain: str
    alias: str
    scheduled_at: datetime
    # The mail of the same lead this one follows (None for the lead's first planned mail
    # when nothing went before it).
    parent_mail_number: int | None

    @property
    def from_email(self) -> str:
        return f"{self.alias}@{self.domain}"

    @property
    def is_followup(self) -> bool:
        return self.mail_number > 1


def fresh_leads(lead_ids: list[str], steps: int) -> list[LeadSpec]:
    """New leads, each to get mails 1..steps."""
    numbers = tuple(range(1, steps + 1))
    return [LeadSpec(lead_id, numbers) for lead_id in lead_ids]


@dataclass(order=True)
class _Pending:
    """A mail waiting for a slot on its domain, ordered by the moment it is due."""

    due: datetime
    rank: tuple[int, int]  # (0 follow-up / 1 first mail, audience position)
    lead: int = field(compare=False)
    step: int = field(compare=False)  # index into the lead's mail numbers


@dataclass
class _Domain:
    spec: DomainSpec
    calendar: DomainCalendar
    cursor: SlotCursor
    # Heap by (due, rank): tuples compare far faster than the dataclass's generated order.
    waiting: list[tuple[datetime, tuple[int, int], _Pending]] = field(default_factory=list)
    # Due mails by (follow-up first, longest due first, audience position).
    ready: list[tuple[int, datetime, int, _Pending]] = field(default_factory=list)
    leads_assigned: int = 0
    # The follow-up start for a mail sent on each local day (`_followup_due`).
    followup_starts: dict[tuple[date, int], datetime] = field(default_factory=dict)
    # Under a cap or ramp: the mails each local day carries already (others', and this plan's).
    day_counts: dict[date, int] | None = None

    def day_is_full(self, day: date) -> bool:
        """Whether the domain's cap or ramp allows no more mail on `day`."""
        if self.day_counts is None:
            return False
        allowed = self.calendar.allowance(day)
        return allowed is not None and self.day_counts.get(day, 0) >= allowed


def plan(
    domains: list[DomainSpec],
    taken: dict[str, list[datetime]],
    leads: list[LeadSpec],
    settings: PlanSettings,
    now: datetime,
    used: dict[str, dict[date, int]] | None = None,
) -> list[PlannedMessage]:
    """Place every mail of every lead; the result is in time order.

    `used`: per domain with a cap or ramp, the mails each local day already carries
    (sent, in flight, other campaigns' queued); a day gets no more than its allowance.
    Leads fixed to a domain that is not among the active `domains` are left out
    (they wait for it). Raises PlanError when new leads have no active domain.
    """
    start = max(settings.start_at or now, now)
    # A ramp no mail has gone under yet starts with the plan's first mail.
    active = [with_ramp_start(spec, start) for spec in domains if not spec.paused]
    state: dict[str, _Domain] = {}
    for spec in active:
        calendar = DomainCalendar(spec)
        cursor = SlotCursor(calendar, taken.get(spec.name, []), start)
        state[spec.name] = _Domain(spec, calendar, cursor)
        if spec.limited:
            state[spec.name].day_counts = dict((used or {}).get(spec.name, {}))
    order = [state[spec.name] for spec in active]
    senders: list[tuple[_Domain, str] | None] = [None] * len(leads)
    new_leads: list[int] = []
    for index, lead in enumerate(leads):
        if not lead.mail_numbers:
            continue
        if lead.domain is None:
            new_leads.append(index)
        elif lead.domain in state:
            domain = state[lead.domain]
            alias = lead.alias or domain.spec.aliases[0]
            senders[index] = (domain, alias)
            due = (
                start
                if lead.after is None
                else _followup_due(domain, lead.after, settings.delay_before(lead.mail_numbers[0]))
            )
            first_mail = lead.after is None
            _push(domain, _Pending(max(due, start), (int(first_mail), index), index, 0))
    if new_leads and not order:
        raise PlanError(_("no active sending domain to plan on"))
    new_leads.reverse()  # pop() takes them in audience order

    result: list[PlannedMessage] = []
    heap = [(domain.cursor.peek(), position) for position, domain in enumerate(order)]
    heapq.heapify(heap)
    while heap:
        moment, position = heapq.heappop(heap)
        domain = order[position]
        if domain.day_counts is not None and domain.day_is_full(domain.cursor.day):
            # The day's allowance is spent: its remaining slots are not offered.
            domain.cursor.seek(domain.calendar.day_start(domain.cursor.day + timedelta(days=1)))
            if domain.ready or domain.waiting or new_leads:
                heapq.heappush(heap, (domain.cursor.peek(), position))
            continue
        while domain.waiting and domain.waiting[0][0] <= moment:
            item = heapq.heappop(domain.waiting)[2]
            heapq.heappush(domain.ready, (item.rank[0], item.due, item.lead, item))
        if domain.ready:
            item = heapq.heappop(domain.ready)[3]
        elif new_leads:
            lead_index = new_leads.pop()
            aliases = domain.spec.aliases
            senders[lead_index] = (domain, aliases[domain.leads_assigned % len(aliases)])
            domain.leads_assigned += 1
            item = _Pending(moment, (1, lead_index), lead_index, 0)
        elif domain.waiting:
            domain.cursor.seek(domain.waiting[0][0])
            heapq.heappush(heap, (domain.cursor.peek(), position))
            continue
        else:
            continue  # nothing left for this domain
        domain.cursor.take()
        if domain.day_counts is not None:
            day = domain.cursor.day
            domain.day_counts[day] = domain.day_counts.get(day, 0) + 1
        lead = leads[item.lead]
        sender = senders[item.lead]
        assert sender is not None
        number = lead.mail_numbers[item.step]
        if item.step > 0:
            parent: int | None = lead.mail_numbers[item.step - 1]
        else:
            parent = number - 1 if lead.after is not None and number > 1 else None
        result.append(
            PlannedMessage(lead.lead_id, number, domain.spec.name, sender[1], moment, parent)
        )
        if item.step + 1 < len(lead.mail_numbers):
            # The slot lies on the cursor's day: no time-zone conversion to find it.
            delay = settings.delay_before(lead.mail_numbers[item.step + 1])
            due = _followup_due(domain, moment, delay, domain.cursor.day)
            _push(domain, _Pending(due, (0, item.lead), item.lead, item.step + 1))
        if domain.ready or domain.waiting or new_leads:
            heapq.heappush(heap, (domain.cursor.peek(), position))
    return result


def _push(domain: _Domain, item: _Pending) -> None:
    heapq.heappush(domain.waiting, (item.due, item.rank, item))


def _followup_due(
    domain: _Domain, previous: datetime, delay: int, day: date | None = None
) -> datetime:
    """The first moment the next mail may go: the start of the working day `delay` working
    days after the previous mail (on local `day` when known), or just after it for 0."""
    if delay <= 0:
        return previous + _JUST_AFTER
    calendar = domain.calendar
    day = calendar.local_date(previous) if day is None else day
    due = domain.followup_starts.get((day, delay))
    if due is None:
        due = calendar.day_start(calendar.add_working_days(day, delay))
        domain.followup_starts[(day, delay)] = due
    return due
