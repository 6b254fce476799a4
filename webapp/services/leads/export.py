"""CSV that spreadsheets open safely: UTF-8 with BOM, no formulas, times in APP_TIMEZONE.

Each export comes in the style of the spreadsheet that opens it (`CsvStyle`): Dutch Excel
splits columns on `;` and reads `3,5` as a number; English Excel wants `,` and `3.5`. The
API's exports keep their documented form, the English one.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from webapp.formats import export_time
from webapp.models import Lead

BOM = "\ufeff"
# Lines are sent in pieces of about this size: one write per row would be a system call
# per row, one write for the whole file would hold it in memory.
CHUNK_BYTES = 64 * 1024
# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

LEAD_EXPORT_FIELDS = (
    "email",
    "company",
    "url",
    "domain",
    "status",
    "list_name",
    "stopped",
    "deleted_at",
    "last_emailed_at",
    "created_at",
)


@dataclass(frozen=True)
class CsvStyle:
    """How a spreadsheet program in one language reads CSV."""

    delimiter: str
    decimal: str
    yes: str
    no: str


ENGLISH_CSV = CsvStyle(",", ".", "yes", "no")
DUTCH_CSV = CsvStyle(";", ",", "ja", "nee")
CSV_STYLES = {"en": ENGLISH_CSV, "nl": DUTCH_CSV}


def csv_style(language: str) -> CsvStyle:
    """The style Excel in that language opens as columns (English for any other)."""
    return CSV_STYLES.get(language, ENGLISH_CSV)


def neutralise_cell(value: Any, style: CsvStyle = ENGLISH_CSV) -> str:
    """The cell as text; a leading formula character is defused with a `'` (OWASP)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return style.yes if value else style.no
    if isinstance(value, datetime):
        return export_time(value)
    if isinstance(value, float):
        return repr(value).replace(".", style.decimal)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def spreadsheet_safe_csv(
    rows: Iterable[Iterable[Any]], header: Iterable[str], style: CsvStyle = ENGLISH_CSV
) -> Iterator[str]:
    """Stream CSV text: a BOM, the header, then one line per row, every cell neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=style.delimiter, lineterminator="\r\n")

    def line(cells: Iterable[Any]) -> str:
        writer.writerow([neutralise_cell(cell, style) for cell in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield BOM + line(header)
    for row in rows:
        yield line(row)


def lead_export(leads: Iterable[Lead | Any], style: CsvStyle = ENGLISH_CSV) -> Iterator[str]:
    """Leads (or rows with their fields and `vars`) as spreadsheet-safe CSV: the lead's
    fields, then one column per variable.

    The variable columns are those of the first 1,000 leads (read ahead once); later
    leads' other variables are left out rather than holding the whole export in memory.
    """
    iterator = iter(leads)
    head: list[Any] = []
    for lead in iterator:
        head.append(lead)
        if len(head) >= 1_000:
            break
    var_names: list[str] = []
    for lead in head:
        for name in lead.vars or {}:
            if name not in var_names and name not in ("company", "url"):
                var_names.append(name)

    def rows() -> Iterator[list[Any]]:
        for source in (head, iterator):
            for lead in source:
                values = lead.vars or {}
                yield [getattr(lead, f) for f in LEAD_EXPORT_FIELDS] + [
                    values.get(name, "") for name in var_names
                ]

    yield from spreadsheet_safe_csv(rows(), [*LEAD_EXPORT_FIELDS, *var_names], style)


def in_chunks(lines: Iterable[str], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """Text lines as UTF-8 pieces of about `size` bytes, the first as soon as it is full."""
    pending: list[bytes] = []
    length = 0
    for line in lines:
        data = line.encode("utf-8")
        pending.append(data)
        length += len(data)
        if length >= size:
            yield b"".join(pending)
            pending, length = [], 0
    if pending:
        yield b"".join(pending)
