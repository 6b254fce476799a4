"""The audit trail page: filter by person, action and dates; page by position; export."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import lazy_gettext as _l

from webapp.htmx import render_page_or_fragment
from webapp.security import audit_reader_required
from webapp.services.audit_trail import (
    SYSTEM,
    TrailCursor,
    TrailFilter,
    TrailPage,
    list_events,
    parse_filter,
    trail_people,
)
from webapp.services.errors import InvalidInput
from webapp.web.audit.blueprint import bp
from webapp.web.audit.export import rows_of, trail_csv
from webapp.web.audit.presenting import action_groups
from webapp.web.downloads import csv_download, reader_csv_style

# The filter's fields, as an error message names them.
FILTER_LABELS = {
    "user_id": _l("Person"),
    "action": _l("Action"),
    "since": _l("From"),
    "until": _l("Until"),
}


@bp.get("/")
@audit_reader_required
def index() -> Any:
    args = request.args
    errors: dict[str, str] = {}
    try:
        chosen = parse_filter(args)
    except InvalidInput as error:
        errors, chosen = error.fields, TrailFilter()
    cursor = None
    if args.get("cursor"):
        try:
            cursor = TrailCursor.decode(args["cursor"])
        except InvalidInput:
            cursor = None  # a mangled link: the first page, not an error page
    page = TrailPage() if errors else list_events(chosen, cursor)
    html = render_page_or_fragment(
        "audit/index.html",
        "audit/_results.html",
        rows=rows_of(page.items),
        trail=page,
        chosen=chosen,
        form=args,
        errors=errors,
        people=trail_people(),
        system=SYSTEM,
        groups=action_groups(),
        filter_labels=FILTER_LABELS,
    )
    return html, 422 if errors else 200


@bp.get("/export.csv")
@audit_reader_required
def export() -> Any:
    # A filter that cannot be used is a 422 naming it, as everywhere.
    chosen = parse_filter(request.args)
    return csv_download(trail_csv(chosen, reader_csv_style()), "audit")
