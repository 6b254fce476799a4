"""Reading spreadsheets as they really arrive: encodings, delimiters, `sep=` lines.

Everything here streams: a file is read a buffer at a time and rows are yielded one
by one, so memory stays flat whatever the file's size.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from typing import IO, Any

from flask_babel import gettext as _

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (";", ",", "\t", "|")
DELIMITER_NAMES = {";": "semicolon", ",": "comma", "\t": "tab", "|": "pipe"}
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "cp1252")

# No lead file needs more; a wider one is refused before anything grows with its width.
MAX_COLUMNS = 200

_SEP_LINE = re.compile(r"^\s*sep=(.)\s*$", re.IGNORECASE)
# One cell may hold a whole pasted e-mail; the csv module's default limit is 128 KiB.
_FIELD_LIMIT = 8 * 1024 * 1024


class SpreadsheetError(Exception):
    """The file cannot be read as a spreadsheet; nothing was written."""


@dataclass(frozen=True)
class FileFormat:
    """How to read a file: detected, or chosen by the user on the preview."""

    kind: str = "csv"  # csv | xlsx
    encoding: str = "utf-8"
    delimiter: str = ","
    has_sep_line: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "has_sep_line": self.has_sep_line,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileFormat:
        return cls(
            kind=str(data.get("kind", "csv")),
            encoding=str(data.get("encoding", "utf-8")),
            delimiter=str(data.get("delimiter", ",")),
            has_sep_line=bool(data.get("has_sep_line", False)),
        )


def is_xlsx(path: str) -> bool:
    """Whether the file is a zip (an xlsx workbook) rather than text."""
    with open(path, "rb") as handle:
        return handle.read(4) == b"PK\x03\x04"


def detect_encoding(sample: bytes) -> str:
    """BOMs first, then UTF-16 without BOM, then UTF-8; anything else is read as cp1252."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(sample) >= 4:
        even, odd = sample[0::2], sample[1::2]
        # ASCII text in UTF-16 has a zero in every other byte.
        if odd.count(0) > len(odd) * 0.4 and even.count(0) < len(even) * 0.1:
            return "utf-16-le"
        if even.count(0) > len(even) * 0.4 and odd.count(0) < len(odd) * 0.1:
            return "utf-16-be"
    try:
        # Not final: the sample may end inside a multi-byte character.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def detect_delimiter(text: str) -> str:
    """The delimiter of a decoded sample: csv.Sniffer, checked against the header line."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return ","
    header = lines[0]
    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines[:50]), delimiters="".join(DELIMITERS))
        if sniffed.delimiter in header:
            return sniffed.delimiter
    except csv.Error:
        pass
    # Sniffer gives up on ragged samples; the header line is the most regular line there is.
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def detect_format(path: str) -> FileFormat:
    """Detect kind, encoding, delimiter and a leading `sep=` line from the file's start."""
    if is_xlsx(path):
        return FileFormat(kind="xlsx", encoding="", delimiter="")
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    encoding = detect_encoding(sample)
    text = _decode_sample(sample, encoding)
    first_line, _sep, _rest = text.partition("\n")
    match = _SEP_LINE.match(first_line.rstrip("\r"))
    if match:
        return FileFormat(encoding=encoding, delimiter=match.group(1), has_sep_line=True)
    return FileFormat(encoding=encoding, delimiter=detect_delimiter(text))


def _decode_sample(sample: bytes, encoding: str) -> str:
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    text = decoder.decode(sample, final=False)
    return text.replace("\r\n", "\n").replace("\r", "\n")


Row = tuple[int, "list[str] | str"]


def iter_rows(
    path: str, fmt: FileFormat, handle: IO[bytes] | None = None
) -> Generator[Row, None, None]:
    """Yield (line number, cells) for every non-empty row of a CSV file, header included,
    streaming (xlsx.iter_xlsx_rows reads workbooks).

    A row the csv module cannot parse comes as (line number, the reason) instead.
    """
    raw = handle if handle is not None else open(path, "rb")  # noqa: SIM115
    try:
        yield from _iter_csv_rows(raw, fmt)
    finally:
        if handle is None:
            raw.close()


def _iter_csv_rows(raw: IO[bytes], fmt: FileFormat) -> Iterator[Row]:
    # newline="" keeps CR, LF and CRLF for the csv module, which knows all three and
    # keeps newlines inside quoted cells.
    text = io.TextIOWrapper(raw, encoding=fmt.encoding, errors="replace", newline="")
    try:
        lines: Iterator[str] = (line.replace("\x00", "") for line in text)
        if fmt.has_sep_line:
            next(lines, None)
        offset = 1 if fmt.has_sep_line else 0
        previous = csv.field_size_limit()
        csv.field_size_limit(max(previous, _FIELD_LIMIT))
        reader = csv.reader(lines, delimiter=fmt.delimiter or ",", strict=False)
        start = 1
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield start + offset, _("unreadable row: %(error)s", error=str(error))
                start = reader.line_num + 1
                continue
            if any(cell.strip() for cell in row):
                yield start + offset, row
            start = reader.line_num + 1
    finally:
        # Leave the handle open for its owner (who may read .tell() for progress).
        with contextlib.suppress(ValueError):
            text.detach()
