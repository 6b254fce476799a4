"""The dry run's checks of the audience's leads, counted in SQL: which leads miss a variable
the template needs, and the leads' company domains (for the reports). Nothing loads whole
lead rows, so a 30,000-lead audience costs a few grouped queries."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Lead
from webapp.services.planning.ids import among, id_chunks

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


def _blank(value: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
    return sa.func.coalesce(sa.func.trim(value, WHITESPACE), "").in_(("", "[]", "{}"))


def _absent(name: str) -> sa.ColumnElement[bool]:
    """The lead has no usable value for `name` (its vars, or the column of that name)."""
    in_vars = _blank(Lead.vars[name].as_string())
    if name in LEAD_COLUMNS:
        return sa.and_(in_vars, _blank(getattr(Lead, name)))
    return in_vars


def check_leads(lead_ids: list[str], variables: list[str], domains: bool) -> LeadChecks:
    """Count, in the database, what the dry run warns about for these leads."""
    result = LeadChecks()
    flags = [sa.case((_absent(name), 1), else_=0) for name in variables]
    for chunk in id_chunks(lead_ids):
        where = among(Lead.id, chunk)
        if variables:
            any_absent = sa.or_(*(_absent(name) for name in variables))
            row = db.session.execute(
                sa.select(
                    sa.func.count().filter(any_absent),
                    *(sa.func.coalesce(sa.func.sum(flag), 0) for flag in flags),
                ).where(where)
            ).one()
            result.leads_missing += int(row[0])
            for name, count in zip(variables, row[1:], strict=True):
                if count:
                    result.missing[name] += int(count)
            if row[0] and len(result.examples) < EXAMPLES:
                result.examples.extend(
                    db.session.execute(
                        sa.select(Lead.email)
                        .where(where, any_absent)
                        .order_by(Lead.email)
                        .limit(EXAMPLES - len(result.examples))
                    ).scalars()
                )
        if domains:
            company = sa.func.lower(sa.func.coalesce(Lead.domain, sa.literal_column("''")))
            rows = db.session.execute(
                sa.select(company, sa.func.count()).where(where).group_by(company)
            )
            for domain, count in rows:
                result.domains[domain] += int(count)
    return result
