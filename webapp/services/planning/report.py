"""The dry run's report: totals, per domain, per domain per day, and warnings.

Its JSON shape is the one in docs/interfaces.md (GET /campaigns/{id}/dry-run).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _

from webapp.database import utcnow
from webapp.extensions import db
from webapp.formats import thousands
from webapp.models import Campaign, CampaignStatus, SendingDomain
from webapp.queue import enqueue_after_commit
from webapp.services.planning.caps import pace_line
from webapp.services.planning.content import with_content_warnings
from webapp.services.planning.lead_checks import (
    LeadChecks,
    check_leads,
    checks_asked,
    checks_from_json,
    read_audience,
    report_counts,
)
from webapp.services.planning.planner import PlannedMessage
from webapp.services.planning.plans import (
    PlanRequest,
    Prepared,
    campaign_messages,
    domain_spec,
    list_domains,
    load_domains,
    plan_request_for,
    plannable_lead_ids,
    prepare,
)
from webapp.services.planning.slots import DomainCalendar, count_taken_between
from webapp.services.planning.stored import (
    claim_computing,
    fingerprint,
    keep_report,
    leads_version,
    store_report,
    stored_report,
)
from webapp.services.planning.written import summarise_written, taken_by_others

_INSTANT = timedelta(microseconds=1)


class WarningCode(StrEnum):
    """What a dry-run warning is about: the page and API clients tell warnings apart by it."""

    NOT_PLANNED = "not_planned"
    UNKNOWN_DOMAIN = "unknown_domain"
    NO_DOMAIN = "no_domain"
    DOMAIN_PAUSED = "domain_paused"
    LEADS_SKIPPED = "leads_skipped"
    SLOTS_TAKEN = "slots_taken"
    MISSING_VARIABLES = "missing_variables"
    REPORTS_FOLDER_MISSING = "reports_folder_missing"
    MISSING_REPORTS = "missing_reports"
    DNS_CHECKS_FAILING = "dns_checks_failing"


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with the offset, in the app's time zone."""
    if moment is None:
        return None
    zone = ZoneInfo(current_app.config.get("APP_TIMEZONE", "Europe/Amsterdam"))
    return moment.astimezone(zone).isoformat()


def build_report(
    prepared: Prepared, messages: list[PlannedMessage], lead_warnings: bool = True
) -> dict[str, Any]:
    """The report of a plan (made now, or as written when the campaign started)."""
    calendars = {spec.name: DomainCalendar(spec) for spec in prepared.specs}
    per_domain = []
    per_day: Counter[tuple[str, str]] = Counter()
    by_domain: dict[str, list[PlannedMessage]] = defaultdict(list)
    for message in messages:
        by_domain[message.domain].append(message)
    for name, calendar in calendars.items():
        own = by_domain.get(name, [])
        if not own and calendar.spec.paused:
            continue
        numbers = Counter(m.mail_number for m in own)
        first = min((m.scheduled_at for m in own), default=None)
        last = max((m.scheduled_at for m in own), default=None)
        for day, count in _per_local_day(calendar, [m.scheduled_at for m in own]).items():
            per_day[(day.isoformat(), name)] += count
        per_domain.append(
            {
                "domain": name,
                "label": calendar.spec.label,
                "leads": len({m.lead_id for m in own}),
                "messages": len(own),
                "by_mail_number": {str(n): numbers[n] for n in sorted(numbers)},
                "first_slot": iso(first),
                "last_slot": iso(last),
                "days_needed": (
                    calendar.working_days_between(
                        calendar.local_date(first), calendar.local_date(last)
                    )
                    if first and last
                    else 0
                ),
                "warm_up": pace_line(calendar.spec),
            }
        )
    order = {name: i for i, name in enumerate(calendars)}
    return {
        "total_messages": len(messages),
        "finishes_at": iso(max((m.scheduled_at for m in messages), default=None)),
        "per_domain": per_domain,
        "per_day": [
            {"date": day, "domain": name, "messages": count}
            for (day, name), count in sorted(
                per_day.items(), key=lambda i: (i[0][0], order[i[0][1]])
            )
        ],
        "warnings": warnings(prepared, messages, lead_warnings=lead_warnings),
    }


def _served(report: dict[str, Any], request: PlanRequest) -> dict[str, Any]:
    """The report as served: with its content warnings, and the DNS warnings of its
    domains as the last checks say now (a new dict: a kept report stays as kept)."""
    served = with_content_warnings(report, request)
    names = set(request.domains) | {str(p["domain"]) for p in report.get("per_domain", [])}
    return {**served, "warnings": [*served.get("warnings", []), *dns_warnings(names)]}


def dns_warnings(names: set[str]) -> list[dict[str, Any]]:
    """A warning for each of the named domains whose last DNS checks fail, naming them,
    whatever the mail backend: the marketer sees what the domains page says."""
    if not names:
        return []
    domains = db.session.scalars(
        sa.select(SendingDomain).where(SendingDomain.name.in_(names)).order_by(SendingDomain.name)
    )
    found = []
    for domain in domains:
        failing = [str(c["name"]) for c in domain.dns_checks or [] if c.get("status") == "fail"]
        if not failing:
            continue
        listed = ", ".join(_check_word(name) for name in failing)
        if "tracking_host" in failing:
            message = _(
                "The DNS of %(domain)s fails these checks: %(checks)s. Its tracking host does "
                "not work, so the unsubscribe links in its mail lead nowhere; an admin finds "
                "the fix on the domains page.",
                domain=domain.name,
                checks=listed,
            )
        else:
            message = _(
                "The DNS of %(domain)s fails these checks: %(checks)s. Its mail may be refused "
                "or land in spam; an admin finds the fix on the domains page.",
                domain=domain.name,
                checks=listed,
            )
        found.append(
            {
                "code": WarningCode.DNS_CHECKS_FAILING,
                "message": message,
                "domain": domain.name,
                "checks": failing,
            }
        )
    return found


def _check_word(name: str) -> str:
    if name == "tracking_host":
        return str(_("tracking host"))
    if name == "blocklist":
        return str(_("blocklist"))
    if name == "ptr":
        return str(_("reverse DNS"))
    return name.upper()


def _per_local_day(calendar: DomainCalendar, moments: list[datetime]) -> Counter[date]:
    """How many of the moments fall on each local day of the domain. Mails of one domain
    share a few hundred days: each day's bounds are worked out once, and a moment inside
    the bounds of the day before it needs no time-zone conversion of its own."""
    counts: Counter[date] = Counter()
    day, low, high = None, None, None
    for moment in sorted(moments):
        if low is None or high is None or not low <= moment < high:
            day = calendar.local_date(moment)
            low, high = calendar.day_start(day), calendar.day_start(day + timedelta(days=1))
            # A day whose midnight falls in a DST gap has no exact bounds: no shortcut.
            if not low <= moment < high or calendar.local_date(high - _INSTANT) != day:
                low = high = None
        counts[day] += 1  # type: ignore[index]
    return counts


def warnings(
    prepared: Prepared,
    messages: list[PlannedMessage],
    taken: list[dict[str, Any]] | None = None,
    lead_warnings: bool = True,
) -> list[dict[str, Any]]:
    """What the marketer should know before starting: each as {code, message, ...}.
    `taken` are the slots-taken warnings when worked out already (from the summaries)."""
    found: list[dict[str, Any]] = []
    if prepared.error:
        found.append(
            {
                "code": WarningCode.NOT_PLANNED,
                "message": _("Nothing can be planned: %(error)s.", error=prepared.error),
            }
        )
    for name in prepared.unknown_domains:
        found.append(
            {
                "code": WarningCode.UNKNOWN_DOMAIN,
                "message": _("No sending domain %(name)s.", name=name),
                "domain": name,
            }
        )
    if not prepared.request.domains and not prepared.domains:
        found.append(
            {"code": WarningCode.NO_DOMAIN, "message": _("No active sending domain to assign.")}
        )
    for domain in prepared.domains:
        if domain.paused:
            if domain.paused_reason:
                message = _(
                    "%(domain)s is paused (%(reason)s): nothing is planned on it.",
                    domain=domain.name,
                    reason=domain.paused_reason,
                )
            else:
                message = _("%(domain)s is paused: nothing is planned on it.", domain=domain.name)
            found.append(
                {
                    "code": WarningCode.DOMAIN_PAUSED,
                    "message": message,
                    "domain": domain.name,
                }
            )
    if prepared.skipped_leads:
        found.append(
            {
                "code": WarningCode.LEADS_SKIPPED,
                "message": ngettext(
                    "%(count)s lead of the audience is deleted, stopped or gone, and is not"
                    " planned.",
                    "%(count)s leads of the audience are deleted, stopped or gone, and are not"
                    " planned.",
                    prepared.skipped_leads,
                    count=thousands(prepared.skipped_leads),
                ),
                "count": prepared.skipped_leads,
            }
        )
    found.extend(_taken_warnings(prepared, messages) if taken is None else taken)
    if lead_warnings:
        found.extend(_lead_warnings(prepared, prepared.lead_checks))
    return found


def _taken_warnings(prepared: Prepared, messages: list[PlannedMessage]) -> list[dict[str, Any]]:
    if not messages:
        return []
    # From the plan's start: bookings ahead of it are what pushed it later.
    first, last = prepared.start, max(m.scheduled_at for m in messages)
    if prepared.bounded:
        return _counted_taken_warnings(prepared, first, last)
    found = []
    for name, bookings in prepared.bookings.items():
        others = [b for b in bookings if b.other]
        count = count_taken_between([b.at for b in others], first, last)
        if count:
            campaigns = {b.campaign_id for b in others if first <= b.at <= last}
            found.append(taken_warning(name, count, len(campaigns)))
    return found


def _counted_taken_warnings(
    prepared: Prepared, first: datetime, last: datetime
) -> list[dict[str, Any]]:
    """The slots-taken warnings of a plan that read other campaigns' mail only as far as
    it needed: counted from the summary (and the recent sends it holds)."""
    found = []
    for domain in prepared.domains:
        calendar = DomainCalendar(domain_spec(domain))
        name, count, owners = taken_by_others(prepared.request.campaign_id, calendar, first, last)
        others = [b for b in prepared.bookings.get(name, []) if b.other]
        recent = [b for b in others if first <= b.at <= last]
        count += len(recent)
        owners |= {b.campaign_id for b in recent}
        if count:
            found.append(taken_warning(name, count, len(owners)))
    return found


def taken_warning(name: str, count: int, campaigns: int) -> dict[str, Any]:
    """The slots-taken warning of one domain."""
    return {
        "code": WarningCode.SLOTS_TAKEN,
        "message": _taken_message(count, name, campaigns),
        "domain": name,
        "count": count,
        "campaigns": campaigns,
    }


def _taken_message(count: int, domain: str, campaigns: int) -> str:
    """'12 slots on x are taken by 2 other campaigns': whole sentences for either count's
    plural (Dutch and English tell one from many alike)."""
    values = {"count": thousands(count), "domain": domain, "campaigns": thousands(campaigns)}
    if campaigns == 1:
        return str(
            ngettext(
                "%(count)s slot on %(domain)s is taken by 1 other campaign during this plan.",
                "%(count)s slots on %(domain)s are taken by 1 other campaign during this plan.",
                count,
                **values,
            )
        )
    return str(
        ngettext(
            "%(count)s slot on %(domain)s is taken by %(campaigns)s other campaigns during this"
            " plan.",
            "%(count)s slots on %(domain)s are taken by %(campaigns)s other campaigns during"
            " this plan.",
            count,
            **values,
        )
    )


def read_leads(request: PlanRequest) -> tuple[list[str], LeadChecks | None]:
    """The request's plannable leads and, when the dry run checks them, the checks: one
    read of the audience for both."""
    variables, wants_reports = checks_asked(request)
    if not variables and not wants_reports:
        return plannable_lead_ids(request.lead_ids), None
    return read_audience(request.lead_ids, variables, wants_reports)


def _lead_warnings(prepared: Prepared, checks: LeadChecks | None = None) -> list[dict[str, Any]]:
    """Warnings about the leads themselves; `checks` when read with the audience already."""
    variables, wants_reports = checks_asked(prepared.request)
    if not variables and not wants_reports:
        return []
    found = []
    if checks is None:
        checks = check_leads(prepared.lead_ids, variables, wants_reports)
    leads_missing, missing = checks.leads_missing, checks.missing
    if leads_missing:
        detail = ", ".join(f"{name} ({thousands(n)})" for name, n in sorted(missing.items()))
        found.append(
            {
                "code": WarningCode.MISSING_VARIABLES,
                "message": ngettext(
                    "%(count)s lead misses variables the template uses: %(detail)s.",
                    "%(count)s leads miss variables the template uses: %(detail)s.",
                    leads_missing,
                    count=thousands(leads_missing),
                    detail=detail,
                ),
                "count": leads_missing,
                "variables": dict(sorted(missing.items())),
                "examples": checks.examples,
            }
        )
    if wants_reports:
        found.extend(_report_warnings(*(checks.reports or report_counts(checks.domains))))
    return found


def _report_warnings(folder: str, exists: bool, absent: int) -> list[dict[str, Any]]:
    if not exists:
        return [
            {
                "code": WarningCode.REPORTS_FOLDER_MISSING,
                "message": _(
                    "The reports folder %(folder)s does not exist: follow-ups go without a report.",
                    folder=folder,
                ),
            }
        ]
    if not absent:
        return []
    return [
        {
            "code": WarningCode.MISSING_REPORTS,
            "message": ngettext(
                "%(count)s lead has no report (<domain>.pdf) in %(folder)s.",
                "%(count)s leads have no report (<domain>.pdf) in %(folder)s.",
                absent,
                count=thousands(absent),
                folder=folder,
            ),
            "count": absent,
        }
    ]


def dry_run_report(request: PlanRequest, now: datetime) -> dict[str, Any]:
    """The dry run (docs/interfaces.md shape) of a request, made now; writes nothing."""
    campaign = db.session.get(Campaign, request.campaign_id) if request.campaign_id else None
    if campaign is not None:
        return _served(_new_report(campaign, request, now)[0], request)
    lead_ids, checks = read_leads(request)
    prepared = prepare(request, now, lead_ids=lead_ids)
    prepared.lead_checks = checks
    return _served(build_report(prepared, prepared.messages), request)


def _new_report(
    campaign: Campaign, request: PlanRequest, now: datetime
) -> tuple[dict[str, Any], datetime | None]:
    """A saved campaign's report made now, and until when it holds: a started campaign
    reports the plan it wrote, any other the plan it would get now (until its first slot)."""
    lead_ids, checks = read_leads(request)
    if campaign.status != CampaignStatus.DRAFT:
        summarised = written_report(campaign.id, request, now, lead_ids, checks)
        if summarised is not None:
            return summarised, None
        written = campaign_messages(campaign.id)
        if written:
            prepared = prepare(request, now, make_plan=False, lead_ids=lead_ids)
            prepared.lead_checks = checks
            return build_report(prepared, written), None
    prepared = prepare(request, now, lead_ids=lead_ids)
    prepared.lead_checks = checks
    first = min((m.scheduled_at for m in prepared.messages), default=None)
    return build_report(prepared, prepared.messages), first


@dataclass
class KeptDryRun:
    """A campaign's dry run when it can be told without planning (`report`), else the
    fingerprint (`key`) a job should make it for."""

    report: dict[str, Any] | None
    key: str


def kept_dry_run(campaign_id: str, now: datetime) -> KeptDryRun | None:
    """The dry run of a saved campaign as far as it is told without planning or reading
    the audience's leads; None when there is no such campaign. A started campaign's comes
    from the summaries and the lead checks kept at its start; any other's from the kept
    report while its fingerprint holds."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        return None
    request = plan_request_for(campaign)
    if campaign.status != CampaignStatus.DRAFT:
        report = _started_report(campaign, request, now)
        if report is not None:
            return KeptDryRun(_served(report, request), "")
    # The start as saved: one clamped to the furthest allowed moves with the clock.
    key = _key(replace(request, start_at=campaign.start_at), now)
    kept = stored_report(campaign.id, key, now)
    return KeptDryRun(None if kept is None else _served(kept, request), key)


def _started_report(
    campaign: Campaign, request: PlanRequest, now: datetime
) -> dict[str, Any] | None:
    kept = campaign.audience.lead_checks if campaign.audience is not None else None
    if kept is None:  # started before the checks were kept
        return None
    checks = checks_from_json(kept)
    return written_report(campaign.id, request, now, None, checks, skipped=int(kept["skipped"]))


def _key(request: PlanRequest, now: datetime) -> str:
    """The fingerprint of a saved campaign's report: its settings and audience, its
    domains (every active one when it has none: one of them is assigned), their bookings,
    the leads' latest change and the language."""
    if request.domains:
        domains, _unknown = load_domains(request.domains)
    else:
        domains = [d for d in list_domains() if not d.paused]
    extra = (leads_version(), str(get_locale()))
    return fingerprint(request, request.lead_ids, domains, now, extra)


def enqueue_dry_run(campaign_id: str, key: str, now: datetime) -> None:
    """Have a job make and keep the report for `key`, unless one is at it already. The
    caller commits (the job is enqueued then)."""
    if claim_computing(campaign_id, key, now):
        enqueue_after_commit("make_dry_run", campaign_id, key, str(get_locale()))


def make_dry_run(campaign_id: str, key: str) -> None:
    """The job: make the campaign's report now and keep it under `key` (committed)."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        return
    now = utcnow()
    report, valid_until = _new_report(campaign, plan_request_for(campaign), now)
    keep_report(campaign_id, key, report, valid_until, now)
    db.session.commit()


def written_report(
    campaign_id: str,
    request: PlanRequest,
    now: datetime,
    lead_ids: list[str] | None = None,
    checks: LeadChecks | None = None,
    skipped: int | None = None,
) -> dict[str, Any] | None:
    """The report of a started campaign's plan from the summaries (see `planning.written`),
    or None when they cannot tell it (nothing written, a domain in another time zone)."""
    summary = summarise_written(campaign_id, request, now, lead_ids, skipped)
    if summary is None:
        return None
    summary.prepared.lead_checks = checks
    taken = [taken_warning(name, count, campaigns) for name, count, campaigns in summary.taken]
    return {
        "total_messages": summary.total,
        "finishes_at": iso(summary.finishes_at),
        "per_domain": [
            {**entry, "first_slot": iso(entry["first_slot"]), "last_slot": iso(entry["last_slot"])}
            for entry in summary.per_domain
        ],
        "per_day": summary.per_day,
        "warnings": warnings(summary.prepared, [], taken),
    }


def campaign_dry_run(campaign_id: str, now: datetime) -> dict[str, Any] | None:
    """The dry run of a saved campaign, made now when nothing kept tells it (the JSON
    API answers it at once); None when there is no such campaign."""
    kept = kept_dry_run(campaign_id, now)
    if kept is None:
        return None
    if kept.report is not None:
        return kept.report
    campaign = db.session.get(Campaign, campaign_id)
    assert campaign is not None
    request = plan_request_for(campaign)
    report, valid_until = _new_report(campaign, request, now)
    store_report(campaign_id, kept.key, report, valid_until, now)
    return _served(report, request)
