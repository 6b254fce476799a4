"""The audience builder: which leads of the chosen lists a campaign mails, and why not the rest.

Every count comes from one SQL statement, so a preview of 40,000 leads costs one round trip.
The statement is dialect-portable (PostgreSQL and the embedded SQLite default). On PostgreSQL
completeness is one containment test on `leads.filled_vars` (the names of the variables that
have a value, kept by a trigger: migration 0013); on SQLite the variables are read out of the
JSON with json_extract, which gives the same answer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import joinedload

from webapp.extensions import db
from webapp.formats import thousands
from webapp.models import Lead, LeadStatus, Suppression, Template
from webapp.services.errors import InvalidInput
from webapp.services.inputs import parse_bool
from webapp.services.leads import FREE_MAIL_DOMAINS
from webapp.services.mail import template_required_variables

# A template may use these without the lead carrying them in vars: they are lead columns.
LEAD_COLUMNS = frozenset({"email", "company", "url", "domain"})
# Every lead needs these in vars, whatever the template (docs/rules.md, "Audience").
ALWAYS_REQUIRED = ("company", "url")
# What counts as blank: spaces, tabs, line breaks and the no-break space.
BLANK_CHARACTERS = " \t\r\n\u00a0"
SAMPLE_SIZE = 10
# How many of the first passing leads the sample ranks (see preview_audience).
SAMPLE_PREFIX = 500
MAX_RECENT_DAYS = 3650
# The funnel statement's PostgreSQL settings (see _room_for_the_funnel): memory to sort and
# hash in (default 4 MB), and the costs that let it read with parallel workers (defaults
# 1000 and 0.1).
FUNNEL_WORK_MEM = "32MB"
FUNNEL_SETTINGS = {
    "work_mem": FUNNEL_WORK_MEM,
    "parallel_setup_cost": "100",
    "parallel_tuple_cost": "0.01",
}


class AudienceError(InvalidInput):
    """Invalid builder settings; `fields` maps each field to the reason."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(fields, _("invalid audience settings"))


@dataclass(frozen=True)
class AudienceFilters:
    """The builder's settings, as stored in campaign_audience."""

    list_names: tuple[str, ...]
    only_complete: bool = True
    exclude_suppressed: bool = True
    # None: the recent-contact filter is off.
    exclude_recent_days: int | None = 14
    one_per_domain: bool = False
    template_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        values = asdict(self)
        values["list_names"] = list(self.list_names)
        return values


@dataclass
class AudiencePreview:
    """The funnel: leads in the lists, removed by each filter in order, selected."""

    total: int
    removed: dict[str, int]
    selected: int
    sample: list[dict[str, Any]] = field(default_factory=list)
    required_variables: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "removed": dict(self.removed),
            "selected": self.selected,
            "sample": list(self.sample),
            "required_variables": list(self.required_variables),
        }


def parse_filters(raw: dict[str, Any]) -> AudienceFilters:
    """Builder settings from API / form values; AudienceError names every bad field."""
    errors: dict[str, str] = {}
    names = raw.get("list_names", [])
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        errors["list_names"] = _("must be a list of list names")
        names = []
    list_names = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not list_names and "list_names" not in errors:
        errors["list_names"] = _("choose at least one list")
    flags = {"only_complete": True, "exclude_suppressed": True, "one_per_domain": False}
    for name in flags:
        if name in raw:
            try:
                flags[name] = parse_bool(raw[name])
            except ValueError as error:
                errors[name] = str(error)
    days: int | None = 14
    if "exclude_recent_days" in raw:
        try:
            days = _recent_days(raw["exclude_recent_days"])
        except ValueError as error:
            errors["exclude_recent_days"] = str(error)
    template_id = raw.get("template_id") or None
    if template_id is not None and not isinstance(template_id, str):
        errors["template_id"] = _("must be a template id")
    if errors:
        raise AudienceError(errors)
    return AudienceFilters(list_names=list_names, exclude_recent_days=days,
                           template_id=template_id, **flags)  # fmt: skip


def _recent_days(raw: Any) -> int | None:
    # null, 0, false or "" switch the filter off.
    if raw is None or raw is False or raw == "" or raw == 0:
        return None
    if isinstance(raw, bool):
        raise ValueError(_recent_days_range())
    try:
        days = int(raw)
    except (TypeError, ValueError):
        raise ValueError(_recent_days_range()) from None
    if isinstance(raw, float) and raw != days:
        raise ValueError(_("must be a whole number of days"))
    if days == 0:
        return None
    if not 1 <= days <= MAX_RECENT_DAYS:
        raise ValueError(_("must be between 1 and %(max)s days", max=thousands(MAX_RECENT_DAYS)))
    return days


def _recent_days_range() -> str:
    return str(_("must be a number of days (1-%(max)s) or null", max=thousands(MAX_RECENT_DAYS)))


def required_variables(template: Template | None) -> list[str]:
    """The vars every lead must carry: company and url, plus the variables the template uses
    without a fallback (docs/rules.md, "Templates")."""
    names = list(ALWAYS_REQUIRED)
    if template is not None:
        names += sorted(v for v in template_required_variables(template) if v not in LEAD_COLUMNS)
    return names


def load_template(template_id: str | None) -> Template | None:
    """The template with its steps, in one statement."""
    if not template_id:
        return None
    return (
        db.session.execute(
            sa.select(Template)
            .options(joinedload(Template.steps))
            .where(Template.id == template_id)
        )
        .unique()
        .scalar_one_or_none()
    )


def _blank(value: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    """True when a text value is missing, empty or only whitespace."""
    return sa.func.coalesce(sa.func.trim(value, BLANK_CHARACTERS), "") == ""


def _var(name: str) -> sa.ColumnElement[Any]:
    text: sa.ColumnElement[Any] = Lead.vars[name].as_string()
    return text


def _from_vars(variables: Iterable[str]) -> sa.ColumnElement[bool]:
    """True when vars holds a non-blank value for every one of `variables`."""
    return sa.and_(*(sa.not_(_blank(_var(name))) for name in variables))


def _folded(text: Any) -> sa.ColumnElement[Any]:
    """An address or domain (a lead's, a suppression's) with ASCII capitals lowered, so the
    two match.

    Every path that writes them stores them lower-cased already; this guards against
    ASCII capitals only, as SQLite's lower() does. On PostgreSQL it is lower() under the
    "C" collation: the database's own locale made lower() of 60,000 addresses a fifth of
    the funnel's time, for letters no address holds.
    """
    if db.session.get_bind().dialect.name == "postgresql":
        return sa.func.lower(sa.collate(text, "C"))
    return sa.func.lower(text)


def _base(filters: AudienceFilters, variables: Iterable[str], now: datetime) -> sa.Subquery:
    """The base set with the lead's own columns each filter needs, read once per lead.

    On PostgreSQL completeness is one jsonb containment on filled_vars, so the base set is
    read from idx_leads_audience alone. The few leads whose list was too long to store
    (NULL) are read from vars in a second branch, found by idx_leads_vars_not_listed.
    OFFSET 0 keeps the planner from copying lower() into every join and test that uses it.
    """
    true = sa.true()
    names = list(variables)
    postgresql = db.session.get_bind().dialect.name == "postgresql"

    def leads(complete: sa.ColumnElement[bool], *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
        email = _folded(sa.func.trim(Lead.email)) if filters.exclude_suppressed else None
        return sa.select(
            Lead.id,
            Lead.created_at,
            _folded(Lead.domain).label("domain"),
            (email if email is not None else sa.null()).label("email"),
            (complete if filters.only_complete else true).label("c1"),
            (
                Lead.status.not_in((LeadStatus.SUPPRESSED, LeadStatus.BOUNCED))
                if filters.exclude_suppressed
                else true
            ).label("active"),
            (
                sa.or_(
                    Lead.last_emailed_at.is_(None),
                    Lead.last_emailed_at < now - timedelta(days=filters.exclude_recent_days),
                )
                if filters.exclude_recent_days
                else true
            ).label("c3"),
        ).where(
            Lead.list_name.in_(filters.list_names),
            Lead.deleted_at.is_(None),
            # "= false", not "IS false": the partial indexes on leads say stopped = false.
            Lead.stopped == sa.false(),
            *where,
        )

    if not (postgresql and filters.only_complete):
        return leads(_from_vars(names)).offset(0).subquery("base")
    listed: sa.ColumnElement[bool] = sa.type_coerce(Lead.filled_vars, JSONB).contains(names)
    both = sa.union_all(
        leads(listed, Lead.filled_vars.is_not(None)),
        leads(_from_vars(names), Lead.filled_vars.is_(None)),
    ).subquery("leads")
    return sa.select(both).offset(0).subquery("base")


def _flags(filters: AudienceFilters, variables: Iterable[str], now: datetime) -> sa.CTE:
    """The base set, each lead with the raw outcome of every filter that is switched on.

    Materialised on PostgreSQL so every suppression match runs once per lead, however often
    the funnel refers to it.
    """
    true = sa.true()
    base = _base(filters, variables, now)
    source: sa.FromClause = base
    clean: sa.ColumnElement[bool] = true
    if filters.exclude_suppressed:
        # Joins, not correlated EXISTS: a hash join over the (distinct, lower-cased)
        # suppressions instead of a scan of them per lead.
        emails = (
            sa.select(_folded(Suppression.email).label("email"))
            .where(Suppression.email.is_not(None))
            .distinct()
            .subquery("suppressed_emails")
        )
        domains = (
            sa.select(_folded(Suppression.domain).label("domain"))
            .where(Suppression.domain.is_not(None))
            .distinct()
            .subquery("suppressed_domains")
        )
        source = source.outerjoin(emails, emails.c.email == base.c.email).outerjoin(
            domains, domains.c.domain == base.c.domain
        )
        clean = sa.and_(base.c.active, emails.c.email.is_(None), domains.c.domain.is_(None))
    # Free-mail domains and leads without a domain are people: never collapsed.
    company = sa.and_(base.c.domain.is_not(None), base.c.domain.not_in(sorted(FREE_MAIL_DOMAINS)))
    return (
        sa.select(
            base.c.id,
            base.c.created_at,
            base.c.domain,
            base.c.c1,
            clean.label("c2"),
            base.c.c3,
            (company if filters.one_per_domain else sa.false()).label("company"),
        )
        .select_from(source)
        .cte("flags")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )


def _ranked(filters: AudienceFilters, variables: Iterable[str], now: datetime) -> sa.CTE:
    """Every lead of the base set with the filters it passes in order (p1..p3) and its rank
    among the leads of its company that pass them all (rn)."""
    flags = _flags(filters, variables, now)
    p1 = flags.c.c1
    p2 = sa.and_(p1, flags.c.c2)
    p3 = sa.and_(p2, flags.c.c3)
    rank: sa.ColumnElement[Any] = (
        _rank(flags.c, p3, flags.c.company) if filters.one_per_domain else sa.literal(1)
    )
    return sa.select(
        flags.c.id,
        flags.c.created_at,
        p1.label("p1"),
        p2.label("p2"),
        p3.label("p3"),
        rank.label("rn"),
    ).cte("ranked")


def _count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
    return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)


def _sample_query(
    ranked: sa.Select[Any] | sa.CTE, selected: sa.ColumnElement[bool], sample_size: int
) -> sa.CTE:
    """The sample's leads: the first selected ids of `ranked`, then those leads by key."""
    columns = ranked.selected_columns if isinstance(ranked, sa.Select) else ranked.c
    first_ids = (
        sa.select(columns.id, columns.created_at)
        .where(selected)
        .order_by(columns.created_at, columns.id)
        .limit(sample_size)
        .subquery("first")
    )
    return (
        sa.select(
            Lead.id.label("lead_id"),
            Lead.email,
            Lead.company,
            Lead.domain,
            Lead.list_name,
            Lead.status,
            Lead.vars,
            Lead.created_at.label("lead_created_at"),
        )
        .join(first_ids, first_ids.c.id == Lead.id)
        .cte("sample")
    )


def _rank(rows: Any, passes: sa.ColumnElement[bool], company: Any) -> sa.ColumnElement[Any]:
    """A lead's rank among the leads of its company that pass every filter (1: kept)."""
    # Leads an earlier filter removed, and people, get a partition of their own.
    collapses = sa.and_(passes, company)
    return sa.func.row_number().over(
        partition_by=(
            sa.case((collapses, rows.domain)),
            sa.case((collapses, sa.null()), else_=rows.id),
        ),
        order_by=(rows.created_at, rows.id),
    )


def preview_audience(
    filters: AudienceFilters, now: datetime, sample_size: int = SAMPLE_SIZE
) -> AudiencePreview:
    """The funnel and a sample of the selected leads, usually in one statement.

    The counts need no ranking: one lead per company domain is kept, so the duplicates are
    the company leads that pass every filter minus their distinct domains (a hash
    aggregate). The sample ranks only the first `SAMPLE_PREFIX` passing leads: the earliest
    lead of a domain comes before its duplicates, so a prefix ranks them exactly as the
    whole set would. Only when that prefix holds too few companies is the whole set ranked.
    """
    template = load_template(filters.template_id)
    if filters.template_id and template is None:
        raise AudienceError({"template_id": _("no such template")})
    variables = required_variables(template)
    flags = _flags(filters, variables, now)
    p1 = flags.c.c1
    p2 = sa.and_(p1, flags.c.c2)
    p3 = sa.and_(p2, flags.c.c3)
    company_rows = sa.and_(p3, flags.c.company)
    domains = sa.select(flags.c.domain).where(company_rows).group_by(flags.c.domain).subquery()
    counts = sa.select(
        sa.func.count().label("total"),
        _count(~p1).label("incomplete"),
        _count(sa.and_(p1, ~p2)).label("suppressed"),
        _count(sa.and_(p2, ~p3)).label("recent"),
        _count(p3).label("passed"),
        # Not "company": the sample's rows, joined beside these counts, carry the lead's.
        _count(company_rows).label("company_rows"),
        sa.select(sa.func.count()).select_from(domains).scalar_subquery().label("domains"),
    ).cte("counts")
    prefix = (
        sa.select(flags.c.id, flags.c.created_at, flags.c.domain, flags.c.company)
        .where(p3)
        .order_by(flags.c.created_at, flags.c.id)
        .limit(SAMPLE_PREFIX)
        .subquery("prefix")
    )
    ranked = sa.select(
        prefix.c.id,
        prefix.c.created_at,
        _rank(prefix.c, sa.true(), prefix.c.company).label("rn"),
    ).subquery("ranked")
    sample = _sample_query(sa.select(ranked), ranked.c.rn == 1, sample_size)
    _room_for_the_funnel()
    rows = db.session.execute(
        sa.select(counts, sample)
        .select_from(counts.outerjoin(sample, sa.true()))
        .order_by(sample.c.lead_created_at, sample.c.lead_id)
    ).all()
    first = rows[0]
    duplicates = int(first.company_rows) - int(first.domains)
    selected = int(first.passed) - duplicates
    sampled = [row for row in rows if row.lead_id is not None]
    if len(sampled) < min(sample_size, selected):
        sampled = _full_sample(filters, variables, now, sample_size)
    return AudiencePreview(
        total=first.total,
        removed={
            "incomplete": first.incomplete,
            "suppressed": first.suppressed,
            "recent": first.recent,
            "duplicate_domain": duplicates,
        },
        selected=selected,
        sample=[_sample_lead(row, variables) for row in sampled],
        required_variables=variables,
    )


def _room_for_the_funnel() -> None:
    """On PostgreSQL, give this transaction's funnel room: its 60,000-row base set sorted
    and hashed in memory (at the default 4 MB it spilled to a temporary file), and read by
    parallel workers (the default costs never split a read this size, and the gathered rows
    are narrow): 340 ms became 230 ms on the scale data set."""
    if db.session.get_bind().dialect.name == "postgresql":
        for name, value in FUNNEL_SETTINGS.items():
            db.session.execute(sa.text(f"SET LOCAL {name} = '{value}'"))


def _full_sample(
    filters: AudienceFilters, variables: list[str], now: datetime, sample_size: int
) -> list[Any]:
    """The sample from a ranking of the whole base set (a prefix held too few companies)."""
    ranked = _ranked(filters, variables, now)
    sample = _sample_query(ranked, sa.and_(ranked.c.p3, ranked.c.rn == 1), sample_size)
    query = sa.select(sample).order_by(sample.c.lead_created_at, sample.c.lead_id)
    return list(db.session.execute(query).all())


def selected_lead_ids(filters: AudienceFilters, now: datetime) -> list[str]:
    """The ids of the selected leads, ordered by created_at then id (the snapshot's order)."""
    template = load_template(filters.template_id)
    if filters.template_id and template is None:
        raise AudienceError({"template_id": _("no such template")})
    ranked = _ranked(filters, required_variables(template), now)
    _room_for_the_funnel()
    query = (
        sa.select(ranked.c.id)
        .where(ranked.c.p3, ranked.c.rn == 1)
        .order_by(ranked.c.created_at, ranked.c.id)
    )
    return list(db.session.execute(query).scalars())


def missing_variables(variables: Iterable[str], values: dict[str, Any] | None) -> list[str]:
    """Which of `variables` a lead's vars lack (absent, empty or whitespace only)."""
    values = values or {}
    return [name for name in variables if not str(values.get(name) or "").strip(BLANK_CHARACTERS)]


def _sample_lead(row: Any, variables: list[str]) -> dict[str, Any]:
    return {
        "id": row.lead_id,
        "email": row.email,
        "company": row.company,
        "domain": row.domain,
        "list_name": row.list_name,
        "status": row.status,
        "created_at": row.lead_created_at.isoformat(),
        "missing_variables": missing_variables(variables, row.vars),
    }


def available_lists() -> list[tuple[str, int]]:
    """Every list name with its number of leads that are not deleted, by name."""
    rows = db.session.execute(
        sa.select(Lead.list_name, sa.func.count())
        .where(Lead.deleted_at.is_(None), Lead.list_name.is_not(None))
        .group_by(Lead.list_name)
        .order_by(Lead.list_name)
    )
    return [(name, count) for name, count in rows if name is not None]  # where() has none
