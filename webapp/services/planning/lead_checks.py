"""The dry run's checks of the audience's leads, counted in SQL: which leads miss a variable
the template needs, and the leads' company domains (for the reports). Nothing loads whole
lead rows, so a 30,000-lead audience costs a few grouped queries."""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from flask import current_app

from webapp.extensions import db
from webapp.models import Lead, Template
from webapp.services.mail import template_required_variables
from webapp.services.planning.ids import among, id_chunks

if TYPE_CHECKING:
    from webapp.services.planning.plans import PlanRequest

EXAMPLES = 3
# What str.strip() removes: a value of only these is empty, as in the lead's context.
WHITESPACE = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
# Columns that stand in for a variable of the same name (`mail.rendering.LEAD_COLUMNS`).
LEAD_COLUMNS = ("email", "company", "url", "domain")


@dataclass
class LeadChecks:
    """Leads missing any variable, per variable, a few examples, and company domains."""

    leads_missing: int = 0
    missing: Counter[str] = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    domains: Counter[str] = field(default_factory=Counter)  # lower-cased, "" for none
    # The reports folder, whether it exists and the leads without a report in it, when
    # counted already (a started campaign's checks, kept from its start).
    reports: tuple[str, bool, int] | None = None


def checks_asked(request: PlanRequest) -> tuple[list[str], bool]:
    """The variables every lead must have, and whether follow-ups attach reports."""
    wants_reports = request.attach_report and request.followup_enabled and request.steps > 1
    template = db.session.get(Template, request.template_id) if request.template_id else None
    variables = sorted(template_required_variables(template)) if template else []
    return variables, wants_reports


def report_counts(company_domains: Counter[str]) -> tuple[str, bool, int]:
    """The reports folder, whether it exists, and how many leads have no report in it."""
    folder = current_app.config.get("REPORTS_DIR") or os.path.join(
        current_app.instance_path, "reports"
    )
    if not os.path.isdir(folder):
        return folder, False, 0
    present = {name.lower() for name in os.listdir(folder)}
    absent = sum(n for d, n in company_domains.items() if not d or f"{d}.pdf" not in present)
    return folder, True, absent


def checks_to_json(checks: LeadChecks, skipped: int, wants_reports: bool) -> dict[str, Any]:
    """The checks as kept with a started campaign's audience (reports counted now)."""
    kept: dict[str, Any] = {
        "skipped": skipped,
        "leads_missing": checks.leads_missing,
        "missing": dict(checks.missing),
        "examples": checks.examples,
    }
    if wants_reports:
        folder, exists, absent = checks.reports or report_counts(checks.domains)
        kept["reports"] = [folder, exists, absent]
    return kept


def checks_from_json(kept: dict[str, Any]) -> LeadChecks:
    reports = kept.get("reports")
    return LeadChecks(
        leads_missing=int(kept.get("leads_missing", 0)),
        missing=Counter({str(k): int(v) for k, v in kept.get("missing", {}).items()}),
        examples=[str(e) for e in kept.get("examples", [])],
        reports=(str(reports[0]), bool(reports[1]), int(reports[2])) if reports else None,
    )


def _blank(value: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    return sa.func.coalesce(sa.func.trim(value, WHITESPACE), "").in_(("", "[]", "{}"))


def _absent(name: str) -> sa.ColumnElement[bool]:
    """The lead has no usable value for `name` (its vars, or the column of that name)."""
    in_vars = _blank(Lead.vars[name].as_string())
    if name in LEAD_COLUMNS:
        return sa.and_(in_vars, _blank(getattr(Lead, name)))
    return in_vars


def check_leads(lead_ids: list[str], variables: list[str], domains: bool) -> LeadChecks:
    """Count, in the database, what the dry run warns about for these (plannable) leads."""
    return read_audience(lead_ids, variables, domains)[1]


def read_audience(
    lead_ids: list[str], variables: list[str], domains: bool
) -> tuple[list[str], LeadChecks]:
    """The audience's plannable leads (existing, neither deleted nor stopped, in order) and
    the checks of those leads, from one read of the audience's rows: each read of 26,800
    leads by id costs a few hundred milliseconds, so the two are not read apart."""
    ordered = list(dict.fromkeys(lead_ids))
    if not domains:
        counted = _count_audience(ordered, variables)
        if counted is not None:
            return counted
    usable: set[str] = set()
    result = LeadChecks()
    company = sa.func.lower(sa.func.coalesce(Lead.domain, sa.literal_column("''")))
    columns: list[Any] = [
        Lead.id,
        sa.and_(Lead.deleted_at.is_(None), Lead.stopped.is_(False)),
        *(_absent(name) for name in variables),
    ]
    if domains:
        columns.append(company)
    for chunk in id_chunks(ordered):
        for row in db.session.execute(sa.select(*columns).where(among(Lead.id, chunk))):
            if not row[1]:
                continue
            usable.add(row[0])
            flags = row[2 : 2 + len(variables)]
            if any(flags):
                result.leads_missing += 1
                for name, flag in zip(variables, flags, strict=True):
                    if flag:
                        result.missing[name] += 1
            if domains:
                result.domains[row[-1]] += 1
    plannable = [lead_id for lead_id in ordered if lead_id in usable]
    if result.leads_missing:
        result.examples = _examples(plannable, variables)
    return plannable, result


def _count_audience(
    ordered: list[str], variables: list[str]
) -> tuple[list[str], LeadChecks] | None:
    """`read_audience` without company domains, counted in the database: one row back, with
    the ids of the leads deleted or stopped (few), instead of a row per lead. None when some
    ids name no lead at all (the caller reads the rows then)."""
    usable = sa.and_(Lead.deleted_at.is_(None), Lead.stopped.is_(False))
    absent = [_absent(name) for name in variables]
    any_absent = sa.or_(*absent) if absent else sa.false()
    columns: list[Any] = [
        sa.func.count(),
        sa.func.aggregate_strings(Lead.id, ",").filter(sa.not_(usable)),
        sa.func.count().filter(sa.and_(usable, any_absent)),
        *(sa.func.count().filter(sa.and_(usable, flag)) for flag in absent),
    ]
    result = LeadChecks()
    found, unusable = 0, set[str]()
    for chunk in id_chunks(ordered):
        row = db.session.execute(sa.select(*columns).where(among(Lead.id, chunk))).one()
        found += int(row[0])
        unusable.update(row[1].split(",") if row[1] else [])
        result.leads_missing += int(row[2])
        for name, count in zip(variables, row[3:], strict=True):
            if count:
                result.missing[name] += int(count)
    if found < len(ordered):
        return None
    plannable = [lead_id for lead_id in ordered if lead_id not in unusable]
    if result.leads_missing:
        result.examples = _examples(plannable, variables)
    return plannable, result


def _examples(lead_ids: list[str], variables: list[str]) -> list[str]:
    """The first few addresses (by the database's order) of leads missing a variable."""
    any_absent = sa.or_(*(_absent(name) for name in variables))
    examples: list[str] = []
    for chunk in id_chunks(lead_ids):
        examples.extend(
            db.session.execute(
                sa.select(Lead.email)
                .where(among(Lead.id, chunk), any_absent)
                .order_by(Lead.email)
                .limit(EXAMPLES - len(examples))
            ).scalars()
        )
        if len(examples) >= EXAMPLES:
            break
    return examples
