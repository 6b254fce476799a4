"""Lead import: one service for the upload page, the CLI and the API.

A file is read row by row (csv_sniff) and written in batches (import_writes). Nothing is
ever rendered: `{{ ... }}` and `=SUM(...)` in a cell are stored as the text they are.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import IO, Any

from flask_babel import gettext as _

from webapp.formats import thousands
from webapp.services.errors import InvalidInput
from webapp.services.leads.columns import clean_text, normalise_email
from webapp.services.leads.csv_sniff import (
    MAX_COLUMNS,
    FileFormat,
    Row,
    SpreadsheetError,
    detect_format,
    iter_rows,
)
from webapp.services.leads.duplicates import SeenAddresses
from webapp.services.leads.fields import url_problem
from webapp.services.leads.file_kinds import not_a_table
from webapp.services.leads.import_writes import ParsedRow, WriteCounts, write_batch
from webapp.services.leads.mapping import (
    COMPANY,
    EMAIL,
    IGNORE,
    URL,
    VAR_PREFIX,
    apply_choices,
    check_mapping,
    column_choices,
    guess_mapping,
    target_label,
)
from webapp.services.leads.xlsx import iter_xlsx_rows

BATCH_SIZE = 2_000
MAX_ERRORS = 1_000
PREVIEW_ROWS = 5
# A column name is a name: a longer header cell is cut here (variable names come from it).
MAX_HEADER_CHARS = 200
# The preview shows the start of each cell, so its size never depends on the file's.
PREVIEW_CELL_CHARS = 100


class ImportFileError(InvalidInput):
    """The file as a whole cannot be imported (empty, unreadable, no e-mail column)."""

    def __init__(self, message: str) -> None:
        super().__init__({"file": message}, message)

    def __str__(self) -> str:
        # The one field repeats the message; the page, the CLI and the job show it as is.
        return self.message


class ImportMappingError(ImportFileError):
    """The mapping the user chose cannot be used (see mapping.apply_choices)."""

    def __init__(self, message: str) -> None:
        InvalidInput.__init__(self, {"mapping": message}, message)


@dataclass
class ImportSummary:
    """What an import did: every data row is counted exactly once."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    repeated: int = 0  # rows skipped as duplicates; the rest of `skipped` are errors

    def error(self, line: int, message: str) -> None:
        self.skipped += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"line": line, "message": message})

    def duplicate(self, line: int, kept_line: int, email: str) -> None:
        self.skipped += 1
        self.repeated += 1
        if len(self.duplicates) < MAX_ERRORS:
            self.duplicates.append({"line": line, "kept_line": kept_line, "email": email})

    def add(self, counts: WriteCounts) -> None:
        self.created += counts.created
        self.updated += counts.updated
        self.unchanged += counts.unchanged

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
            "duplicates": list(self.duplicates),
        }
        if self.skipped - self.repeated > len(self.errors):
            data["errors_not_listed"] = self.skipped - self.repeated - len(self.errors)
        if self.repeated > len(self.duplicates):
            data["duplicates_not_listed"] = self.repeated - len(self.duplicates)
        return data


@dataclass
class ImportPreview:
    """What the page shows before anything is written."""

    fmt: FileFormat
    header: list[str]
    mapping: list[str]
    rows: list[list[str]]
    error: str | None = None

    def choices(self) -> list[list[tuple[str, str]]]:
        """Per column, the (target, label) pairs its select offers."""
        return [
            [(target, target_label(target)) for target in targets]
            for targets in column_choices(self.header, self.mapping)
        ]

    def choose(self, chosen: list[str | None]) -> ImportPreview:
        """The preview with the targets chosen on the page (None keeps a column's target);
        a target a column does not offer is ignored."""
        allowed = column_choices(self.header, self.mapping)
        picks = [*chosen, *[None] * len(self.mapping)]  # padded: columns not sent keep theirs
        mapping = [
            pick if pick in allowed[index] else current
            for index, (current, pick) in enumerate(zip(self.mapping, picks, strict=False))
        ]
        return replace(self, mapping=mapping, error=check_mapping(mapping, self.header))

    def imported(self) -> tuple[list[str], list[list[str]]]:
        """The sample as it will be imported: the target labels and each row's values."""
        kept = [index for index, target in enumerate(self.mapping) if target != IGNORE]
        labels = [target_label(self.mapping[index]) for index in kept]
        rows = [[row[index] if index < len(row) else "" for index in kept] for row in self.rows]
        return labels, rows


# -- reading ----------------------------------------------------------------------------


def _rows(
    path: str, fmt: FileFormat, handle: IO[bytes] | None = None
) -> tuple[int, list[str], Generator[Row, None, None]]:
    rows = _readable(iter_xlsx_rows(path) if fmt.kind == "xlsx" else iter_rows(path, fmt, handle))
    first = next(rows, None)
    if first is None:
        raise ImportFileError(_("the file is empty"))
    line, header = first
    if isinstance(header, str):
        rows.close()
        raise ImportFileError(_("line %(line)s: %(message)s", line=line, message=header))
    try:
        return line, _header(header), rows
    except ImportFileError:
        rows.close()
        raise


def _readable(rows: Iterator[Row]) -> Generator[Row, None, None]:
    """The rows; a workbook found broken partway through is an ImportFileError too."""
    try:
        yield from rows
    except SpreadsheetError as error:
        raise ImportFileError(str(error)) from None


def _header(cells: list[str]) -> list[str]:
    """The column names, cut to MAX_HEADER_CHARS; more than MAX_COLUMNS is refused.

    Empty names at the end (a spreadsheet's unused columns) do not count against the cap.
    """
    names = [clean_text(name)[:MAX_HEADER_CHARS] for name in cells]
    while len(names) > MAX_COLUMNS and not names[-1]:
        names.pop()
    if len(names) > MAX_COLUMNS:
        raise ImportFileError(
            _(
                "the file has more than %(max)s columns, and at most %(max)s can be imported: "
                "delete the columns you do not need and upload it again",
                max=thousands(MAX_COLUMNS),
            )
        )
    return names


def _preview_cell(cell: str) -> str:
    text = clean_text(cell)
    return text if len(text) <= PREVIEW_CELL_CHARS else text[: PREVIEW_CELL_CHARS - 1] + "…"


def _detect_format(path: str) -> FileFormat:
    """The file's format; ImportFileError saying what it is when it is no table at all."""
    problem = not_a_table(path)
    if problem:
        raise ImportFileError(problem)
    return detect_format(path)


def inspect_file(
    path: str, fmt: FileFormat | None = None, mapping: list[str] | None = None
) -> ImportPreview:
    """Detect the format, read the header and the first rows; guess the mapping unless
    one is given that fits the header."""
    fmt = fmt or _detect_format(path)
    _line, header, rows = _rows(path, fmt)
    sample: list[list[str]] = []
    for _number, row in rows:
        if not isinstance(row, str):
            sample.append([_preview_cell(cell) for cell in row[: len(header)]])
        if len(sample) >= PREVIEW_ROWS:
            break
    rows.close()
    if mapping is None or len(mapping) != len(header):
        mapping = guess_mapping(header)
    return ImportPreview(fmt, header, mapping, sample, check_mapping(mapping, header))


def parse_choices(text: str | None) -> dict[str, str | None]:
    """A mapping as the API and the command line take it: a JSON object of file column ->
    field or variable name (null or "" skips the column). Raises ImportMappingError."""
    if text is None or not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as error:
        raise ImportMappingError(
            _("the mapping is not valid JSON: %(error)s", error=str(error))
        ) from None
    if not isinstance(data, dict):
        raise ImportMappingError(
            _(
                "the mapping must be a JSON object of file column -> field or variable name, "
                "e.g. %(example)s",
                example='{"Bedrijfsnaam": "company"}',
            )
        )
    for column, target in data.items():
        if target is not None and not isinstance(target, str):
            raise ImportMappingError(
                _("the mapping of %(column)s must be a name or null", column=repr(column))
            )
    return data


def _resolve_mapping(
    header: list[str], mapping: list[str] | None, choices: Mapping[str, str | None] | None
) -> list[str]:
    """Every column's target: `mapping` (or the guess) with `choices` laid over it."""
    mapping = list(mapping) if mapping is not None else guess_mapping(header)
    try:
        if choices:
            mapping = apply_choices(header, mapping, choices)
        problem = check_mapping(mapping, header)
    except ValueError as error:
        problem = str(error)
    if problem:
        raise (ImportMappingError if choices else ImportFileError)(problem)
    return mapping


def check_import(path: str, choices: Mapping[str, str | None] | None = None) -> ImportPreview:
    """The preview of an import about to run later, with `choices` laid over the guessed
    mapping; ImportFileError or ImportMappingError now rather than in the job."""
    preview = inspect_file(path)
    mapping = _resolve_mapping(preview.header, preview.mapping, choices)
    return replace(preview, mapping=mapping, error=None)


# -- writing ----------------------------------------------------------------------------


def import_file(
    path: str,
    list_name: str,
    fmt: FileFormat | None = None,
    mapping: list[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    choices: Mapping[str, str | None] | None = None,
) -> ImportSummary:
    """Import a CSV or xlsx file into `list_name`; flushes per batch, the caller commits.

    `mapping` gives every column's target; `choices` (file column -> field or variable
    name, None to skip) is laid over it or over the guess. Raises ImportFileError (before
    anything is written) for a file that cannot be imported, ImportMappingError for
    choices that cannot be used.
    """
    list_name = clean_text(list_name)
    if not list_name:
        raise ImportFileError(_("a list name is required"))
    fmt = fmt or _detect_format(path)
    with open(path, "rb") as handle, SeenAddresses() as seen:
        _line, header, rows = _rows(path, fmt, handle)
        try:
            mapping = _resolve_mapping(header, mapping, choices)
        except ImportFileError:
            rows.close()
            raise
        summary = ImportSummary()
        batch: list[ParsedRow] = []
        read = 0
        for line, cells in rows:
            read += 1
            row = _parse_row(line, cells, mapping, summary)
            if row is not None:
                batch.append(row)
            if len(batch) >= BATCH_SIZE:
                _write(batch, list_name, seen, summary)
                batch = []
                if progress is not None:
                    progress(read, handle.tell())
        if batch:
            _write(batch, list_name, seen, summary)
        if progress is not None:
            progress(read, handle.tell())
    return summary


def _write(
    batch: list[ParsedRow], list_name: str, seen: SeenAddresses, summary: ImportSummary
) -> None:
    """Write a batch, except rows whose address an earlier row had: those are reported.

    The first row wins (docs/rules.md, "Leads and suppressions"): it is the one the user
    wrote first, and a later row for the same address is as often another person's line
    with a shared address as a correction.
    """
    repeated = seen.repeats([(row.line, row.email) for row in batch])
    kept: list[ParsedRow] = []
    for row in batch:
        if row.line in repeated:
            summary.duplicate(row.line, repeated[row.line], row.email)
        else:
            kept.append(row)
    if kept:
        summary.add(write_batch(kept, list_name))


def _parse_row(
    line: int, cells: list[str] | str, mapping: list[str], summary: ImportSummary
) -> ParsedRow | None:
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
        summary.error(line, reason or _("no e-mail address"))
        return None
    company, url = values.pop(COMPANY, ""), values.pop(URL, "")
    if url and (problem := url_problem(url)) is not None:
        summary.error(line, _("url: %(problem)s", problem=problem))
        return None
    row_vars = {target[len(VAR_PREFIX) :]: value for target, value in values.items()}
    return ParsedRow(line, email, company, url, row_vars)
