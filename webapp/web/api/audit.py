"""The audit trail over the API (admins and managers): pages by cursor, and the CSV."""

from __future__ import annotations

from typing import Any

from flask import request

from webapp.security import audit_reader_required
from webapp.services.audit_trail import MAX_PAGE_SIZE, TrailCursor, list_events, parse_filter
from webapp.services.inputs import clamp_int
from webapp.services.leads import ENGLISH_CSV
from webapp.web.api.blueprint import bp
from webapp.web.audit.export import row_to_dict, rows_of, trail_csv
from webapp.web.downloads import csv_download

API_PAGE_SIZE = 100


@bp.get("/audit")
@audit_reader_required
def audit_index() -> Any:
    """Newest first; `user_id` (or `system`), `action`, `since`, `until`, `cursor`, `limit`.

    A bad filter or cursor is a 422 naming it (the services' InvalidInput)."""
    args = request.args
    chosen = parse_filter(args)
    cursor = TrailCursor.decode(args["cursor"]) if args.get("cursor") else None
    limit = clamp_int(args.get("limit"), API_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    page = list_events(chosen, cursor, limit)
    return {
        "items": [row_to_dict(row) for row in rows_of(page.items)],
        "next_cursor": page.next_cursor,
        "previous_cursor": page.previous_cursor,
    }


@bp.get("/audit/export.csv")
@audit_reader_required
def audit_export() -> Any:
    """Every event the filter selects as CSV, in the API's documented (English) style."""
    return csv_download(trail_csv(parse_filter(request.args), ENGLISH_CSV), "audit")
