"""Reading an .xlsx workbook by what it really holds, within fixed bounds.

An xlsx is a zip of XML parts, and every figure in it can lie: the zip's sizes, the
sheet's `<dimension>`, a row number far down the sheet. So the parts are unpacked once
up front, counting the bytes that really come out; the sheet is then read cell by cell
as the XML has them (never padded to the dimension it claims), and no row is wider than
MAX_COLUMNS + 1 cells (one more, so the header check can tell it is too wide).
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

from flask_babel import gettext as _

from webapp.formats import thousands
from webapp.services.leads.csv_sniff import MAX_COLUMNS, Row, SpreadsheetError

# Limits against decompression bombs.
XLSX_MAX_ENTRIES = 2_000
# All parts together, unpacked. The sheet is streamed, so this bounds time, not memory.
XLSX_MAX_UNCOMPRESSED = 256 * 1024 * 1024
# openpyxl holds the shared strings in memory, at about seven times their XML's size.
XLSX_MAX_SHARED_STRINGS = 16 * 1024 * 1024
XLSX_MAX_RATIO = 200
_CHUNK = 1024 * 1024


def check_xlsx_archive(path: str) -> None:
    """Refuse workbooks that are not zips, have too many parts, or inflate too far.

    The sizes the zip declares are checked first, then every part is unpacked and the
    bytes that come out are counted, so a zip whose headers understate its parts is
    refused too (and one whose data does not match its checksum).
    """
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            _check_declared(entries)
            _check_unpacked(archive, entries)
    except zipfile.BadZipFile as error:
        raise SpreadsheetError(
            _("the file is not a valid xlsx workbook (%(error)s)", error=str(error))
        ) from None
    except (OSError, EOFError, NotImplementedError, RuntimeError) as error:
        raise SpreadsheetError(
            _("the workbook cannot be unpacked: %(error)s", error=str(error))
        ) from None


def _is_shared_strings(name: str) -> bool:
    return name.lower().endswith("sharedstrings.xml")


def _check_declared(entries: list[zipfile.ZipInfo]) -> None:
    if len(entries) > XLSX_MAX_ENTRIES:
        raise SpreadsheetError(_("the workbook has too many parts to be a spreadsheet"))
    for entry in entries:
        if entry.file_size > _CHUNK and entry.file_size > XLSX_MAX_RATIO * max(
            entry.compress_size, 1
        ):
            raise SpreadsheetError(_("the workbook unpacks suspiciously far (a zip bomb?)"))
    _check_sizes(
        sum(entry.file_size for entry in entries),
        sum(entry.file_size for entry in entries if _is_shared_strings(entry.filename)),
    )


def _check_unpacked(archive: zipfile.ZipFile, entries: list[zipfile.ZipInfo]) -> None:
    total = shared = 0
    for entry in entries:
        with archive.open(entry) as part:
            while chunk := part.read(_CHUNK):
                total += len(chunk)
                if _is_shared_strings(entry.filename):
                    shared += len(chunk)
                _check_sizes(total, shared)


def _check_sizes(total: int, shared: int) -> None:
    if total > XLSX_MAX_UNCOMPRESSED:
        raise SpreadsheetError(
            _(
                "the workbook is too large once unpacked (more than %(size)s MB). Save it as "
                "CSV (which has no such limit) and upload that.",
                size=thousands(XLSX_MAX_UNCOMPRESSED // (1024 * 1024)),
            )
        )
    if shared > XLSX_MAX_SHARED_STRINGS:
        raise SpreadsheetError(
            _(
                "the workbook holds too much distinct text (its shared strings unpack to more "
                "than %(size)s MB). Save it as CSV (which has no such limit) and upload that.",
                size=thousands(XLSX_MAX_SHARED_STRINGS // (1024 * 1024)),
            )
        )


def iter_xlsx_rows(path: str) -> Iterator[Row]:
    """Yield (row number, cells) for every non-empty row of the first sheet, header included."""
    import openpyxl  # defusedxml is installed, so openpyxl parses with it
    from openpyxl.worksheet._reader import WorkSheetParser

    check_xlsx_archive(path)
    try:
        # data_only: the value Excel last calculated, never the formula; nothing is evaluated.
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken workbook
        raise SpreadsheetError(
            _("the workbook cannot be read: %(error)s", error=str(error))
        ) from None
    try:
        if not workbook.worksheets:
            return
        # The read-only sheet pads every row to the width its <dimension> claims and yields
        # every missing row up to the height it claims; its own parser yields only the rows
        # and cells the XML holds. (openpyxl is pinned; tests cover this use of its parser.)
        sheet: Any = workbook.worksheets[0]
        wb: Any = workbook
        with sheet._get_source() as source:
            parser = WorkSheetParser(
                source,
                sheet._shared_strings,
                data_only=True,
                epoch=workbook.epoch,
                date_formats=wb._date_formats,
                timedelta_formats=wb._timedelta_formats,
            )
            try:
                for number, cells in parser.parse():
                    row = _row_cells(cells)
                    if any(cell.strip() for cell in row):
                        yield number, row
            except Exception as error:  # a broken part shows only when it is read
                raise SpreadsheetError(
                    _("the workbook cannot be read: %(error)s", error=str(error))
                ) from None
    finally:
        workbook.close()


def _row_cells(cells: list[dict[str, Any]]) -> list[str]:
    """A row's values by column, as wide as its last cell with a value; empty cells in
    between are empty strings. Values past MAX_COLUMNS share the one column after it: no
    column there is imported, but a header that reaches it is refused as too wide."""
    values: dict[int, str] = {}
    for cell in cells:
        column, value = cell["column"], cell["value"]
        if value is not None and column >= 1:
            values[min(column, MAX_COLUMNS + 1)] = xlsx_cell_text(value)
    width = max(values, default=0)
    return [values.get(column, "") for column in range(1, width + 1)]


def xlsx_cell_text(value: Any) -> str:
    """A cell's value as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != time(0) else value.date().isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)
