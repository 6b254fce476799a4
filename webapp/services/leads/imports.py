"""Lead import: one service for the upload page, the CLI and the API.

A file is read row by row (webapp/services/csv_sniff.py) and written in batches: for
each batch, one query finds the leads that already exist, one finds the suppressions
that apply, then new leads are inserted and changed ones updated in bulk. Nothing is
ever rendered: `{{ ... }}` and `=SUM(...)` in a cell are stored as the text they are.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import IO, Any

import sqlalchemy as sa
from psycopg.errors import UniqueViolation
from psycopg.types.json import Jsonb
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import IntegrityError

from webapp.database import new_id, utcnow
from webapp.extensions import db
from webapp.models import Lead, Suppression
from webapp.services.leads.columns import (
    COMPANY,
    EMAIL,
    IGNORE,
    URL,
    VAR_PREFIX,
    check_mapping,
    clean_text,
    guess_mapping,
    normalise_email,
)
from webapp.services.leads.csv_sniff import FileFormat, SpreadsheetError, detect_format, iter_rows
from webapp.services.leads.fields import company_domain

BATCH_SIZE = 2_000
MAX_ERRORS = 1_000
PREVIEW_ROWS = 5


class ImportFileError(Exception):
    """The file as a whole cannot be imported (empty, unreadable, no e-mail column)."""


@dataclass
class ImportSummary:
    """What an import did: every data row is counted exactly once."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def error(self, line: int, message: str) -> None:
        self.skipped += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"line": line, "message": message})

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + self.skipped

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "skipped": self.skipped,
            "errors": list(self.errors),
        }
        if self.skipped > len(self.errors):
            data["errors_not_listed"] = self.skipped - len(self.errors)
        return data


@dataclass
class ImportPreview:
    """What the page shows before anything is written."""

    fmt: FileFormat
    header: list[str]
    mapping: list[str]
    rows: list[list[str]]
    error: str | None = None


# -- reading ----------------------------------------------------------------------------


def _rows(
    path: str, fmt: FileFormat, handle: IO[bytes] | None = None
) -> tuple[int, list[str], Generator[tuple[int, list[str] | str], None, None]]:
    try:
        rows = iter_rows(path, fmt, handle)
        first = next(rows, None)
    except SpreadsheetError as error:
        raise ImportFileError(str(error)) from None
    if first is None:
        raise ImportFileError("the file is empty")
    line, header = first
    if isinstance(header, str):
        raise ImportFileError(f"line {line}: {header}")
    return line, [clean_text(name) for name in header], rows


def inspect_file(path: str, fmt: FileFormat | None = None) -> ImportPreview:
    """Detect the format, read the header and the first rows, guess the mapping."""
    fmt = fmt or detect_format(path)
    _, header, rows = _rows(path, fmt)
    sample: list[list[str]] = []
    for _, row in rows:
        if not isinstance(row, str):
            sample.append([clean_text(cell) for cell in row])
        if len(sample) >= PREVIEW_ROWS:
            break
    rows.close()
    mapping = guess_mapping(header)
    return ImportPreview(fmt, header, mapping, sample, check_mapping(mapping, header))


# -- writing ----------------------------------------------------------------------------


@dataclass
class _Row:
    line: int
    email: str
    company: str
    url: str
    vars: dict[str, str]


def import_file(
    path: str,
    list_name: str,
    fmt: FileFormat | None = None,
    mapping: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ImportSummary:
    """Import a CSV or xlsx file into `list_name`; flushes per batch, the caller commits.

    Raises ImportFileError (before anything is written) for a file that cannot be imported.
    """
    list_name = clean_text(list_name)
    if not list_name:
        raise ImportFileError("a list name is required")
    fmt = fmt or detect_format(path)
    with open(path, "rb") as handle:
        _, header, rows = _rows(path, fmt, handle)
        mapping = list(mapping) if mapping is not None else guess_mapping(header)
        problem = check_mapping(mapping, header)
        if problem:
            rows.close()
            raise ImportFileError(problem)
        summary = ImportSummary()
        batch: list[_Row] = []
        read = 0
        for line, cells in rows:
            read += 1
            row = _parse_row(line, cells, mapping, summary)
            if row is not None:
                batch.append(row)
            if len(batch) >= BATCH_SIZE:
                _write_batch(batch, list_name, summary)
                batch = []
                if progress is not None:
                    progress(read, handle.tell())
        if batch:
            _write_batch(batch, list_name, summary)
        if progress is not None:
            progress(read, handle.tell())
    return summary


def _parse_row(
    line: int, cells: list[str] | str, mapping: list[str], summary: ImportSummary
) -> _Row | None:
    if isinstance(cells, str):
        summary.error(line, cells)
        return None
    values: dict[str, str] = {}
    for target, cell in zip(mapping, cells, strict=False):
        if target != IGNORE:
            value = clean_text(cell)
            if value:
                values[target] = value
    email, reason = normalise_email(values.pop(EMAIL, ""))
    if email is None:
        summary.error(line, reason or "no e-mail address")
        return None
    company, url = values.pop(COMPANY, ""), values.pop(URL, "")
    row_vars = {target[len(VAR_PREFIX) :]: value for target, value in values.items()}
    return _Row(line, email, company, url, row_vars)


def _write_batch(batch: list[_Row], list_name: str, summary: ImportSummary) -> None:
    """Write one batch; redone once if a concurrent import created one of its leads first."""
    for attempt in (1, 2):
        counts = ImportSummary()
        try:
            with db.session.begin_nested():
                _write_batch_once(batch, list_name, counts)
        except (IntegrityError, UniqueViolation):
            if attempt == 2:
                raise
            continue
        summary.created += counts.created
        summary.updated += counts.updated
        summary.unchanged += counts.unchanged
        return


def _write_batch_once(batch: list[_Row], list_name: str, summary: ImportSummary) -> None:
    groups: dict[str, list[_Row]] = {}
    for row in batch:
        groups.setdefault(row.email, []).append(row)
    leads = Lead.__table__
    existing = {
        found.email: found
        for found in db.session.execute(
            sa.select(
                leads.c.id, leads.c.email, leads.c.company, leads.c.url, leads.c.domain,
                leads.c.list_name, leads.c.vars,
            ).where(_in(leads.c.email, list(groups)))
        )
    }  # fmt: skip
    now = utcnow()
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    new_domains: dict[str, set[str]] = {}
    for email, rows in groups.items():
        found = existing.get(email)
        state = _state(found, list_name) if found is not None else None
        merged = _merge(state, rows, list_name, summary)
        if found is None:
            inserts.append({"id": new_id(), "email": email, "created_at": now, **merged})
            new_domains[email] = {email.rpartition("@")[2], merged["domain"] or ""}
        elif merged != state:
            updates.append({"b_id": found.id, "updated_at": now, **merged})
    suppressed = _suppressed(new_domains)
    for values in inserts:
        values["status"] = "suppressed" if values["email"] in suppressed else "active"
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


def _state(found: Any, list_name: str) -> dict[str, Any]:
    return {
        "company": found.company,
        "url": found.url,
        "domain": found.domain,
        "list_name": found.list_name,
        "vars": dict(found.vars or {}),
    }


def _merge(
    state: dict[str, Any] | None, rows: list[_Row], list_name: str, summary: ImportSummary
) -> dict[str, Any]:
    """The lead after applying the file's rows for one address, counting each row once.

    Non-empty cells win over what is there; empty cells never erase anything.
    """
    current = dict(state) if state else {"company": None, "url": None, "vars": {}}
    current["vars"] = dict(current["vars"])
    email = rows[0].email
    outcomes: list[bool] = []
    for row in rows:
        before = (current["company"], current["url"], dict(current["vars"]))
        values = dict(row.vars)
        if row.company:
            current["company"] = values[COMPANY] = row.company
        if row.url:
            current["url"] = values[URL] = row.url
        current["vars"].update(values)
        outcomes.append(before != (current["company"], current["url"], current["vars"]))
    current["domain"] = company_domain(current["url"], email)
    current["list_name"] = list_name
    if state is not None and current == state:
        summary.unchanged += len(rows)
        return current
    if state is None:
        summary.created += 1
    else:
        summary.updated += 1
    for changed in outcomes[1:]:
        if changed:
            summary.updated += 1
        else:
            summary.unchanged += 1
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
