"""Files that are not a table (images, PDFs, web pages, archives), told apart by their first
bytes so that the user hears what was uploaded instead of seeing a preview of garbage."""

from __future__ import annotations

import re
import zipfile

from webapp.services.leads.csv_sniff import SAMPLE_BYTES, detect_encoding

_SAVE_AS = "Open it in Excel or LibreOffice and save it as .xlsx or CSV, then upload that."
_UPLOAD = "Upload the list as a CSV file or an Excel workbook (.xlsx)."
_UNPACK = "Unpack it and upload the CSV or .xlsx file inside."

# (first bytes, what the file looks like, what to do instead)
_SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image", _UPLOAD),
    (b"\xff\xd8\xff", "a JPEG image", _UPLOAD),
    (b"GIF87a", "a GIF image", _UPLOAD),
    (b"GIF89a", "a GIF image", _UPLOAD),
    (b"II*\x00", "a TIFF image", _UPLOAD),
    (b"MM\x00*", "a TIFF image", _UPLOAD),
    (b"%PDF-", "a PDF document", _UPLOAD),
    (b"{\\rtf", "a rich-text document (RTF)", _SAVE_AS),
    # The compound-file header of Office 97-2003: .xls, but also .doc and .msg.
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel workbook (.xls) or Office file", _SAVE_AS),
    (b"\x1f\x8b", "a gzip archive", _UNPACK),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", _UNPACK),
    (b"Rar!\x1a\x07", "a RAR archive", _UNPACK),
    (b"PK\x05\x06", "an empty zip archive", _UPLOAD),
)
_HTML = re.compile(
    r"\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|table|meta|title|div|script)\b",
    re.IGNORECASE | re.DOTALL,
)
# Controls that never appear in text a spreadsheet exports (tab, line breaks and form feed do).
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f\ufffd]")


def not_a_table(path: str) -> str | None:
    """What the file looks like when it is no spreadsheet, as a message for the user; None
    for anything that may be one (CSV text or an xlsx workbook)."""
    with open(path, "rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    looks_like = _looks_like(path, sample)
    if looks_like is None:
        return None
    what, advice = looks_like
    return f"This looks like {what}, not a spreadsheet. {advice}"


def _looks_like(path: str, sample: bytes) -> tuple[str, str] | None:
    for start, what, advice in _SIGNATURES:
        if sample.startswith(start):
            return what, advice
    if sample[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return "a HEIC photo", _UPLOAD
    if sample[:4] == b"RIFF" and sample[8:12] == b"WEBP":
        return "a WebP image", _UPLOAD
    if sample.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    text = sample.decode(detect_encoding(sample), errors="replace").lstrip("\ufeff")
    if _HTML.match(text) or (text.lstrip().startswith("<?xml") and "<html" in text[:2048]):
        return "an HTML page", "Download the list itself as CSV or .xlsx, not the web page."
    if text.lstrip().startswith("<?xml"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in text:
            return "an Excel 2003 XML spreadsheet", _SAVE_AS
        return "an XML file", _UPLOAD
    # Text has no NUL bytes (UTF-16 was decoded above); most binary formats are full of them.
    controls = len(_CONTROLS.findall(text)) if "\x00" in text else 0
    if controls >= 8 and controls > len(text) * 0.02:  # a stray NUL in a CSV is no reason
        return "a binary file", _UPLOAD
    return None


def _zip_kind(path: str) -> tuple[str, str] | None:
    """A zip is an xlsx workbook (None), another office document, or just an archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            mimetype = b""
            if "mimetype" in names:
                with archive.open("mimetype") as entry:
                    mimetype = entry.read(100)
    except (zipfile.BadZipFile, OSError, RuntimeError):
        return None  # a damaged workbook: the xlsx reader says so
    if "xl/workbook.bin" in names:
        return "a binary Excel workbook (.xlsb)", _SAVE_AS
    if any(name.startswith("xl/") for name in names):
        return None  # a workbook, perhaps a broken one: the xlsx reader has the details
    if b"opendocument.spreadsheet" in mimetype:
        return "an OpenDocument spreadsheet (.ods)", _SAVE_AS
    if b"opendocument" in mimetype:
        return "an OpenDocument text or presentation", _UPLOAD
    if any(name.startswith("word/") for name in names):
        return "a Word document", _UPLOAD
    if any(name.startswith("ppt/") for name in names):
        return "a PowerPoint presentation", _UPLOAD
    return "a zip archive", _UNPACK
