"""Writing one batch of parsed import rows: look up, merge, COPY new leads, UPDATE the rest.

For each batch, one query finds the leads that already exist and one finds the
suppressions that apply; new leads are inserted (COPY on PostgreSQL) and changed ones
updated with one `executemany`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from psycopg.errors import UniqueViolation
from psycopg.types.json import Jsonb
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from webapp.database import new_id, utcnow
from webapp.extensions import db
from webapp.models import Lead, LeadStatus, Suppression
from webapp.services.leads.fields import company_domain
from webapp.services.leads.mapping import COMPANY, URL


@dataclass
class ParsedRow:
    """One data row of a file, cleaned: its line, address, company, url and variables."""

    line: int
    email: str
    company: str
    url: str
    vars: dict[str, str]


@dataclass
class WriteCounts:
    """What writing a batch did to its rows."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0


def write_batch(batch: list[ParsedRow], list_name: str) -> WriteCounts:
    """Write one batch; redone once if a concurrent import created one of its leads first."""
    try:
        return _write_in_savepoint(batch, list_name)
    except (IntegrityError, UniqueViolation):
        # The second try finds the other import's lead and updates it.
        return _write_in_savepoint(batch, list_name)


def _write_in_savepoint(batch: list[ParsedRow], list_name: str) -> WriteCounts:
    counts = WriteCounts()
    with db.session.begin_nested():
        _write_batch_once(batch, list_name, counts)
    return counts


def _write_batch_once(batch: list[ParsedRow], list_name: str, counts: WriteCounts) -> None:
    """Each address appears once in a batch (the importer keeps one row per address)."""
    leads = Lead.__table__
    existing = {
        found.email: found
        for found in db.session.execute(
            sa.select(
                leads.c.id, leads.c.email, leads.c.company, leads.c.url, leads.c.domain,
                leads.c.list_name, leads.c.vars,
            ).where(_in(leads.c.email, [row.email for row in batch]))
        )
    }  # fmt: skip
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    new_domains: dict[str, set[str]] = {}
    for row in batch:
        found = existing.get(row.email)
        state = _state(found) if found is not None else None
        merged = _merge(state, row, list_name)
        if found is None:
            counts.created += 1
            inserts.append({"id": new_id(), "email": row.email, "created_at": now, **merged})
            new_domains[row.email] = {row.email.rpartition("@")[2], merged["domain"] or ""}
        elif merged != state:
            counts.updated += 1
            updates.append({"b_id": found.id, "updated_at": now, **merged})
        else:
            counts.unchanged += 1
    suppressed = _suppressed(new_domains)
    for values in inserts:
        values["status"] = (
            LeadStatus.SUPPRESSED if values["email"] in suppressed else LeadStatus.ACTIVE
        )
        values["stopped"] = False
        values["updated_at"] = now
    if inserts:
        _insert_leads(inserts)
    if updates:
        db.session.execute(
            sa.update(leads)
            .where(leads.c.id == sa.bindparam("b_id"))
            .values({name: sa.bindparam(name) for name in updates[0] if name != "b_id"}),
            updates,
        )


def _on_postgresql() -> bool:
    return db.session.get_bind().dialect.name == "postgresql"


def _in(column: Any, values: list[str]) -> Any:
    """`column IN values`; one array parameter on PostgreSQL instead of thousands."""
    if _on_postgresql():
        return column == sa.any_(sa.bindparam(None, values, type_=ARRAY(sa.String)))
    return column.in_(values)


_COPY_COLUMNS = (
    "id", "email", "company", "url", "domain", "status", "list_name", "vars", "stopped",
    "created_at", "updated_at",
)  # fmt: skip


def _insert_leads(rows: list[dict[str, Any]]) -> None:
    """Insert new leads: COPY on PostgreSQL (inside the session's transaction), else INSERT."""
    if not _on_postgresql():
        db.session.execute(sa.insert(Lead.__table__), rows)
        return
    connection = db.session.connection().connection.driver_connection
    assert connection is not None
    statement = f"COPY leads ({', '.join(_COPY_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [Jsonb(row[name]) if name == "vars" else row[name] for name in _COPY_COLUMNS]
            )


def _state(found: Any) -> dict[str, Any]:
    return {
        "company": found.company,
        "url": found.url,
        "domain": found.domain,
        "list_name": found.list_name,
        "vars": dict(found.vars or {}),
    }


def _merge(state: dict[str, Any] | None, row: ParsedRow, list_name: str) -> dict[str, Any]:
    """The lead after applying a row: non-empty cells win, empty cells never erase anything."""
    current = dict(state) if state else {"company": None, "url": None, "vars": {}}
    current["vars"] = dict(current["vars"])
    values = dict(row.vars)
    if row.company:
        current["company"] = values[COMPANY] = row.company
    if row.url:
        current["url"] = values[URL] = row.url
    current["vars"].update(values)
    current["domain"] = company_domain(current["url"], row.email)
    current["list_name"] = list_name
    return current


def _suppressed(candidates: dict[str, set[str]]) -> set[str]:
    """Which of these new addresses are suppressed, by address or by (mail or company) domain."""
    if not candidates:
        return set()
    domains = set().union(*candidates.values()) - {""}
    found = db.session.execute(
        sa.select(Suppression.email, Suppression.domain).where(
            sa.or_(_in(Suppression.email, list(candidates)), _in(Suppression.domain, list(domains)))
        )
    ).all()
    emails = {row.email for row in found if row.email}
    blocked = {row.domain for row in found if row.domain}
    return {
        email
        for email, its_domains in candidates.items()
        if email in emails or its_domains & blocked
    }
