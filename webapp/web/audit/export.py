"""The audit trail as CSV and as the API's JSON: the same rows the page shows."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from webapp.services.audit_subjects import subject_facts
from webapp.services.audit_trail import TrailEntry, TrailFilter, iter_events
from webapp.services.leads import CsvStyle, spreadsheet_safe_csv
from webapp.web.audit.presenting import TrailRow, details_text, trail_rows

CSV_COLUMNS = (
    "time",
    "person_email",
    "person",
    "action",
    "description",
    "subject_type",
    "subject_id",
    "subject",
    "details",
)


def rows_of(entries: list[TrailEntry]) -> list[TrailRow]:
    """Events as rows, their subjects looked up once for them all."""
    return trail_rows(entries, subject_facts(entry.event for entry in entries))


def trail_csv(chosen: TrailFilter, style: CsvStyle) -> Iterator[str]:
    """Every event the filter selects, newest first, as spreadsheet-safe CSV lines."""

    def rows() -> Iterator[list[Any]]:
        for batch in iter_events(chosen):
            for row in rows_of(batch):
                yield [
                    row.created_at,
                    row.user.email if row.user is not None else "",
                    row.who,
                    row.action,
                    row.sentence,
                    row.subject_type,
                    row.subject_id,
                    row.subject.label,
                    details_text(row.raw_details),
                ]

    return spreadsheet_safe_csv(rows(), CSV_COLUMNS, style)


def row_to_dict(row: TrailRow) -> dict[str, Any]:
    """The API's view of an event: ISO time, the code and its sentence, plain details."""
    user = row.user
    return {
        "id": row.id,
        "created_at": row.created_at.isoformat(),
        "action": row.action,
        "description": row.sentence,
        "user": None if user is None else {"id": user.id, "email": user.email, "name": user.name},
        "subject": {
            "type": row.subject_type,
            "id": row.subject_id,
            "label": row.subject.label,
            "exists": row.subject.exists,
        },
        "details": row.raw_details,
    }
