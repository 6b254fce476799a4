"""The planner's database side: what a campaign asks for, what is taken, the plan written.

Reading: the campaign's request, the domains, the slots other campaigns already hold.
Writing: the plan as `queued` messages (bulk, idempotent); re-plans of queued messages
are in `webapp.services.planning.replanning`. Every writer takes one lock first, so two planners
never book one slot.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import (
    Campaign,
    CampaignStatus,
    Lead,
    Message,
    MessageStatus,
    SendingDomain,
    Template,
)
from webapp.services.planning.caps import day_usage
from webapp.services.planning.ids import among, id_chunks
from webapp.services.planning.lead_checks import (
    LeadChecks,
    checks_asked,
    checks_to_json,
    read_audience,
)
from webapp.services.planning.planner import (
    DomainSpec,
    PlanError,
    PlannedMessage,
    PlanSettings,
    fresh_leads,
    plan,
)
from webapp.services.planning.slots import DomainCalendar, nth_free_slot, with_ramp_start
from webapp.services.planning.taken import (
    LIVE,
    Booking,
    first_horizon,
    next_horizon,
    reaches_past,
    recent_sends,
    taken_times,
)
from webapp.services.planning.writer import lock_planning, write_messages

__all__ = [
    "LIVE",
    "Booking",
    "PlanError",
    "PlanRequest",
    "Prepared",
    "auto_assign_domain",
    "auto_domain_for",
    "domain_spec",
    "persist_plan",
    "plan_request_for",
    "prepare",
    "taken_slots",
]


# How far ahead a campaign may start: later than this is a typo, not a plan.
MAX_START_AHEAD = timedelta(days=366)


@dataclass
class PlanRequest:
    """What a campaign (saved or still in the wizard) asks the planner for."""

    lead_ids: list[str]
    steps: int
    start_at: datetime | None
    followup_enabled: bool
    followup_days: int
    domains: list[str]
    campaign_id: str | None = None
    # Only for the dry run's warnings (missing variables, missing reports).
    template_id: str | None = None
    attach_report: bool = False
    # Working days before mail 2, 3 and 4 where set (else followup_days).
    step_delays: tuple[int, ...] = ()

    def settings(self) -> PlanSettings:
        return PlanSettings(self.start_at, max(0, self.followup_days), self.step_delays)


@dataclass
class Prepared:
    """Everything the planner was given, and the plan it made (or why it could not)."""

    request: PlanRequest
    domains: list[SendingDomain]
    unknown_domains: list[str]
    bookings: dict[str, list[Booking]]
    lead_ids: list[str]
    skipped_leads: int
    start: datetime
    messages: list[PlannedMessage] = field(default_factory=list)
    error: str | None = None
    # True when `bookings` holds only the recent sends: the plan read other campaigns'
    # mail only as far as it reached, and the dry run counts them from the summary.
    bounded: bool = False
    # The dry run's checks of the leads, when read together with them (`read_audience`).
    lead_checks: LeadChecks | None = None

    @property
    def specs(self) -> list[DomainSpec]:
        """The domains as planned from the plan's start (a waiting ramp begins there)."""
        return [with_ramp_start(domain_spec(domain), self.start) for domain in self.domains]


def domain_spec(domain: SendingDomain) -> DomainSpec:
    """The planner's view of a sending domain."""
    return DomainSpec(
        name=domain.name,
        interval_seconds=domain.interval_seconds,
        window_start=domain.window_start,
        window_end=domain.window_end,
        working_days=tuple(int(day) for day in domain.working_days),
        timezone=domain.timezone,
        skip_holidays=domain.skip_holidays,
        aliases=tuple(a["alias"] for a in domain.aliases) or ("christian",),
        paused=domain.paused,
        label=domain.label,
        daily_cap=domain.daily_cap,
        ramp_start=domain.ramp_start,
        ramp_step=domain.ramp_step or 0,
        ramp_started_on=domain.ramp_started_on,
    )


def usable_start_at(start_at: datetime | None, now: datetime) -> datetime | None:
    """A saved start, brought inside what can be planned.

    Campaign input is range-checked, but a start stored before that (9999-12-31) would
    overflow every calendar: it is planned from the furthest start allowed instead, and
    saving the campaign again asks for a date in range.
    """
    if start_at is None:
        return None
    latest = now + MAX_START_AHEAD
    try:
        return min(start_at, latest)
    except OverflowError:  # year 1 or 9999 with an offset that does not fit
        return latest if start_at.year > now.year else None


def plan_request_for(campaign: Campaign) -> PlanRequest:
    """The request a saved campaign makes: its audience, template, settings and domains."""
    template = db.session.get(Template, campaign.template_id)
    steps = max((step.mail_number for step in template.steps), default=1) if template else 1
    domains = [str(name) for name in campaign.domains or []]
    if not domains and campaign.domain:
        domains = [campaign.domain]
    return PlanRequest(
        lead_ids=[str(i) for i in (campaign.audience.lead_ids if campaign.audience else [])],
        steps=steps,
        start_at=usable_start_at(campaign.start_at, utcnow()),
        followup_enabled=campaign.followup_enabled,
        followup_days=campaign.followup_days,
        domains=domains,
        campaign_id=campaign.id,
        step_delays=tuple(int(days) for days in campaign.step_delays or ()),
        template_id=campaign.template_id,
        attach_report=campaign.followup_attach_report,
    )


def auto_assign_domain(
    now: datetime | None = None, needed: int = 1, start_at: datetime | None = None
) -> str | None:
    """The active domain on which `needed` more mails would be out first, given the slots
    other campaigns already hold (running or paused); ties go to the domain with fewer
    running campaigns, then by label."""
    now = now or utcnow()
    start = max(start_at or now, now)
    domains = list(
        db.session.execute(
            sa.select(SendingDomain).where(SendingDomain.paused.is_(False))
        ).scalars()
    )
    counts = running_campaign_counts()
    domains.sort(key=lambda d: (counts.get(d.name, 0), d.label, d.name))
    taken = _times(taken_slots(domains, now))
    used = day_usage([domain_spec(d) for d in domains], now)
    best: tuple[datetime, int, str, str] | None = None
    for domain in domains:
        finish = nth_free_slot(
            DomainCalendar(with_ramp_start(domain_spec(domain), start)),
            taken.get(domain.name, []),
            start,
            needed,
            not_after=best[0] if best else None,
            used=used.get(domain.name),
        )
        if finish is None:
            continue
        key = (finish, counts.get(domain.name, 0), domain.label, domain.name)
        if best is None or key < best:
            best = key
    if best is not None:
        return best[3]
    return domains[0].name if domains else None


def auto_domain_for(request: PlanRequest, now: datetime) -> str | None:
    """The domain a campaign without chosen domains gets: see `auto_assign_domain`."""
    return auto_assign_domain(now, _needed(request), request.start_at)


def _needed(request: PlanRequest) -> int:
    """How many mails the request would plan: every step for every lead."""
    steps = max(1, min(4, request.steps)) if request.followup_enabled else 1
    return max(1, len(set(request.lead_ids)) * steps)


def running_campaign_counts() -> dict[str, int]:
    """How many running campaigns use each domain (`campaigns.domain` or `.domains`)."""
    counts: dict[str, int] = {}
    rows = db.session.execute(
        sa.select(Campaign.domain, Campaign.domains).where(
            Campaign.status == CampaignStatus.RUNNING
        )
    )
    for domain, domains in rows:
        for name in set(domains or []) | ({domain} if domain else set()):
            counts[name] = counts.get(name, 0) + 1
    return counts


def taken_slots(
    domains: list[SendingDomain], now: datetime, campaign_id: str | None = None
) -> dict[str, list[Booking]]:
    """Per domain, the moments other campaigns hold (queued or in flight), and every
    mail sent within the last interval, so a new plan keeps its distance to them.
    The campaign's own queued messages are not taken: they are what gets planned."""
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
        if status in LIVE and not (own and status == MessageStatus.QUEUED):
            taken[name].append(Booking(scheduled_at, owner, not own))
        if sent_at is not None and sent_at >= now - interval[name]:
            taken[name].append(Booking(sent_at, owner, not own))
    for bookings in taken.values():
        bookings.sort(key=lambda booking: booking.at)
    return taken


def _times(bookings: dict[str, list[Booking]]) -> dict[str, list[datetime]]:
    return {name: [b.at for b in items] for name, items in bookings.items()}


def list_domains() -> list[SendingDomain]:
    """Every sending domain, ordered by label."""
    return list(
        db.session.execute(sa.select(SendingDomain).order_by(SendingDomain.label)).scalars()
    )


def load_domains(names: Iterable[str]) -> tuple[list[SendingDomain], list[str]]:
    """The named domains in the order given, and the names that do not exist."""
    wanted = list(dict.fromkeys(n.strip().lower() for n in names if n))
    found = {
        d.name: d
        for d in db.session.execute(
            sa.select(SendingDomain).where(SendingDomain.name.in_(wanted))
        ).scalars()
    }
    return [found[n] for n in wanted if n in found], [n for n in wanted if n not in found]


def plannable_lead_ids(lead_ids: list[str]) -> list[str]:
    """The audience's leads that still exist and are neither deleted nor stopped, in order."""
    ordered = list(dict.fromkeys(lead_ids))
    usable: set[str] = set()
    for chunk in id_chunks(ordered):
        usable.update(
            db.session.execute(
                sa.select(Lead.id).where(
                    among(Lead.id, chunk), Lead.deleted_at.is_(None), Lead.stopped.is_(False)
                )
            ).scalars()
        )
    return [lead_id for lead_id in ordered if lead_id in usable]


def prepare(
    request: PlanRequest, now: datetime, make_plan: bool = True, lead_ids: list[str] | None = None
) -> Prepared:
    """Gather the planner's input for a request and make the plan; writes nothing.
    `lead_ids` are the request's plannable leads when read already."""
    names = request.domains or [name for name in [auto_domain_for(request, now)] if name]
    domains, unknown = load_domains(names)
    if lead_ids is None:
        lead_ids = plannable_lead_ids(request.lead_ids)
    start = max(request.start_at or now, now)
    skipped = len(dict.fromkeys(request.lead_ids)) - len(lead_ids)
    if not make_plan:
        bookings = taken_slots(domains, now, request.campaign_id)
        return Prepared(request, domains, unknown, bookings, lead_ids, skipped, start)
    recent = recent_sends(domains, now, request.campaign_id)
    prepared = Prepared(request, domains, unknown, recent, lead_ids, skipped, start, bounded=True)
    steps = max(1, min(4, request.steps)) if request.followup_enabled else 1
    settings = request.settings()
    specs = prepared.specs
    leads = fresh_leads(lead_ids, steps)
    until: datetime | None = first_horizon(
        specs, start, len(lead_ids) * steps, steps, settings.wait_days(steps)
    )
    used = day_usage(specs, now, request.campaign_id)
    while True:
        taken = taken_times(specs, recent, now, until, request.campaign_id)
        try:
            prepared.messages = plan(specs, taken, leads, settings, now, used)
        except PlanError as error:
            if until is not None:  # fewer bookings than all: read them all before saying so
                until = None
                continue
            prepared.error = str(error)
            return prepared
        if until is None or not reaches_past(prepared.messages, specs, until):
            return prepared
        until = next_horizon(start, until)


def persist_plan(campaign: Campaign, now: datetime) -> int:
    """Plan the campaign and write its messages as `queued`; returns the rows written.

    Exactly the dry run's plan for the same `now`. A repeat writes nothing: the
    unique key (campaign, lead, mail number) keeps the rows already there.
    """
    lock_planning()
    if not campaign.domains and not campaign.domain:
        campaign.domain = auto_domain_for(plan_request_for(campaign), now)
    request = plan_request_for(campaign)
    # The one read of the audience gives the plannable leads and what the dry run warns
    # about them, kept so the started campaign's dry run reads no lead rows.
    variables, wants_reports = checks_asked(request)
    lead_ids, checks = read_audience(request.lead_ids, variables, wants_reports)
    if campaign.audience is not None:
        skipped = len(dict.fromkeys(request.lead_ids)) - len(lead_ids)
        campaign.audience.lead_checks = checks_to_json(checks, skipped, wants_reports)
    prepared = prepare(request, now, lead_ids=lead_ids)
    if prepared.error:
        raise PlanError(prepared.error)
    existing = {
        (lead_id, number): message_id
        for lead_id, number, message_id in db.session.execute(
            sa.select(Message.lead_id, Message.mail_number, Message.id).where(
                Message.campaign_id == campaign.id
            )
        )
    }
    if all((m.lead_id, m.mail_number) in existing for m in prepared.messages):
        return 0  # started before: every row is there already
    return write_messages(campaign, prepared.messages, existing, now)


def campaign_messages(campaign_id: str) -> list[PlannedMessage]:
    """A started campaign's plan as it stands: its messages that are not canceled."""
    rows = db.session.execute(
        sa.select(
            Message.lead_id,
            Message.mail_number,
            Message.domain_used,
            Message.alias,
            Message.scheduled_at,
            Message.sent_at,
        )
        .where(Message.campaign_id == campaign_id, Message.status != MessageStatus.CANCELED)
        .order_by(Message.scheduled_at)
    )
    return [
        PlannedMessage(lead, number, domain, alias, sent_at or scheduled_at, None)
        for lead, number, domain, alias, scheduled_at, sent_at in rows
    ]
