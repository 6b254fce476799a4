"""CSV downloads from the pages: in the reader's spreadsheet style, streamed as read."""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response, stream_with_context

from webapp.database import utcnow
from webapp.formats import in_app_zone
from webapp.i18n import current_language
from webapp.services.leads import CsvStyle, csv_style, in_chunks


def reader_csv_style() -> CsvStyle:
    """Dutch Excel's `;` and decimal comma for a Dutch reader, commas for an English one."""
    return csv_style(current_language())


def csv_download(lines: Iterable[str], name: str) -> Response:
    """A streamed CSV file named `<name>-<local date and time>.csv`."""
    stamp = in_app_zone(utcnow()).strftime("%Y%m%d-%H%M")
    return Response(
        stream_with_context(in_chunks(lines)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}-{stamp}.csv"'},
    )
