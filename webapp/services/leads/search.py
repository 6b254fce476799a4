"""What the leads search looks in: one lower-cased text per lead, found by substring.

The text is the address, the company, the domain and the person's first and last name,
joined by spaces. PostgreSQL keeps one trigram index over exactly this expression
(`idx_leads_search_trgm`, migration 0009), so `LIKE '%bakkerij%'` reads the few matching
rows instead of the whole table; SQLite compares each row, which is fine at its sizes.
"""

from __future__ import annotations

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Lead
from webapp.services.leads.suppressions import escape_like

# The index's expression, written out as SQL: the planner uses an expression index only for
# the same expression, and bound parameters (`vars ->> $1`, `coalesce(company, $2)`) would
# not be the same once a statement is prepared.
SEARCH_TEXT_SQL = {
    "postgresql": (
        "lower(leads.email || ' ' || coalesce(leads.company, '') || ' '"
        " || coalesce(leads.domain, '') || ' ' || coalesce(leads.vars ->> 'first_name', '')"
        " || ' ' || coalesce(leads.vars ->> 'last_name', ''))"
    ),
    "sqlite": (
        "lower(leads.email || ' ' || coalesce(leads.company, '') || ' '"
        " || coalesce(leads.domain, '') || ' '"
        " || coalesce(json_extract(leads.vars, '$.first_name'), '')"
        " || ' ' || coalesce(json_extract(leads.vars, '$.last_name'), ''))"
    ),
}
# Trigrams need three characters: a shorter text is looked for at the start of the address
# (the search text starts with it), which the trigram index still serves.
SHORTEST_SUBSTRING = 3


def search_text() -> sa.ColumnElement[str]:
    """The lower-cased text a lead is searched by, for the connected database."""
    dialect = db.session.get_bind().dialect.name
    return sa.literal_column(SEARCH_TEXT_SQL.get(dialect, SEARCH_TEXT_SQL["sqlite"]), sa.Text)


def text_condition(q: str) -> sa.ColumnElement[bool]:
    """Leads whose search text contains `q` (three characters or more), or whose address
    starts with it (one or two characters)."""
    needle = escape_like(q.strip().lower())
    if len(q.strip()) < SHORTEST_SUBSTRING:
        return search_text().like(f"{needle}%", escape="\\")
    return search_text().like(f"%{needle}%", escape="\\")


def contains_condition(fragment: str) -> sa.ColumnElement[bool]:
    """Leads whose search text contains `fragment` as it is (e.g. `xn--`)."""
    return search_text().like(f"%{escape_like(fragment.lower())}%", escape="\\")


def pick_leads(query: str, limit: int = 10) -> list[Lead]:
    """Leads (not deleted) matching `query` as the leads search does, for a preview picker:
    the first `limit` by address. The trigram index finds them at any size of the table."""
    statement = sa.select(Lead).where(Lead.deleted_at.is_(None))
    if query.strip():
        statement = statement.where(text_condition(query))
    return list(db.session.execute(statement.order_by(Lead.email).limit(limit)).scalars())
