"""Files that are not a table (images, PDFs, web pages, archives), told apart by their first
bytes so that the user hears what was uploaded instead of seeing a preview of garbage."""

from __future__ import annotations

import re
import zipfile
from typing import Any

from flask_babel import lazy_gettext as _l

from webapp.services.leads.csv_sniff import SAMPLE_BYTES, detect_encoding

_SAVE_AS = _l("Open it in Excel or LibreOffice and save it as .xlsx or CSV, then upload that.")
_UPLOAD = _l("Upload the list as a CSV file or an Excel workbook (.xlsx).")
_UNPACK = _l("Unpack it and upload the CSV or .xlsx file inside.")
_WEB_PAGE = _l("Download the list itself as CSV or .xlsx, not the web page.")

# What a file looks like, each a sentence of its own: the kind of file and the article
# before it are one text, so that each language can say it its own way.
_PNG = _l("This looks like a PNG image, not a spreadsheet.")
_JPEG = _l("This looks like a JPEG image, not a spreadsheet.")
_GIF = _l("This looks like a GIF image, not a spreadsheet.")
_TIFF = _l("This looks like a TIFF image, not a spreadsheet.")
_HEIC = _l("This looks like a HEIC photo, not a spreadsheet.")
_WEBP = _l("This looks like a WebP image, not a spreadsheet.")
_PDF = _l("This looks like a PDF document, not a spreadsheet.")
_RTF = _l("This looks like a rich-text document (RTF), not a spreadsheet.")
_XLS = _l("This looks like an old Excel workbook (.xls) or Office file, not a spreadsheet.")
_GZIP = _l("This looks like a gzip archive, not a spreadsheet.")
_7ZIP = _l("This looks like a 7-Zip archive, not a spreadsheet.")
_RAR = _l("This looks like a RAR archive, not a spreadsheet.")
_EMPTY_ZIP = _l("This looks like an empty zip archive, not a spreadsheet.")
_ZIP = _l("This looks like a zip archive, not a spreadsheet.")
_HTML_PAGE = _l("This looks like an HTML page, not a spreadsheet.")
_XML_2003 = _l("This looks like an Excel 2003 XML spreadsheet, not a spreadsheet.")
_XML = _l("This looks like an XML file, not a spreadsheet.")
_BINARY = _l("This looks like a binary file, not a spreadsheet.")
_XLSB = _l("This looks like a binary Excel workbook (.xlsb), not a spreadsheet.")
_ODS = _l("This looks like an OpenDocument spreadsheet (.ods), not a spreadsheet.")
_ODT = _l("This looks like an OpenDocument text or presentation, not a spreadsheet.")
_DOCX = _l("This looks like a Word document, not a spreadsheet.")
_PPTX = _l("This looks like a PowerPoint presentation, not a spreadsheet.")

# (first bytes, what the file looks like, what to do instead); the texts are lazy, read in
# the language of whoever is told
Looks = tuple[Any, Any]
_SIGNATURES: tuple[tuple[bytes, Any, Any], ...] = (
    (b"\x89PNG\r\n\x1a\n", _PNG, _UPLOAD),
    (b"\xff\xd8\xff", _JPEG, _UPLOAD),
    (b"GIF87a", _GIF, _UPLOAD),
    (b"GIF89a", _GIF, _UPLOAD),
    (b"II*\x00", _TIFF, _UPLOAD),
    (b"MM\x00*", _TIFF, _UPLOAD),
    (b"%PDF-", _PDF, _UPLOAD),
    (b"{\\rtf", _RTF, _SAVE_AS),
    # The compound-file header of Office 97-2003: .xls, but also .doc and .msg.
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", _XLS, _SAVE_AS),
    (b"\x1f\x8b", _GZIP, _UNPACK),
    (b"7z\xbc\xaf\x27\x1c", _7ZIP, _UNPACK),
    (b"Rar!\x1a\x07", _RAR, _UNPACK),
    (b"PK\x05\x06", _EMPTY_ZIP, _UPLOAD),
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
    # Two whole sentences: what the file is, then what to upload instead.
    return f"{what} {advice}"


def _looks_like(path: str, sample: bytes) -> Looks | None:
    for start, what, advice in _SIGNATURES:
        if sample.startswith(start):
            return what, advice
    if sample[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1"):
        return _HEIC, _UPLOAD
    if sample[:4] == b"RIFF" and sample[8:12] == b"WEBP":
        return _WEBP, _UPLOAD
    if sample.startswith(b"PK\x03\x04"):
        return _zip_kind(path)
    text = sample.decode(detect_encoding(sample), errors="replace").lstrip("\ufeff")
    if _HTML.match(text) or (text.lstrip().startswith("<?xml") and "<html" in text[:2048]):
        return _HTML_PAGE, _WEB_PAGE
    if text.lstrip().startswith("<?xml"):
        if "urn:schemas-microsoft-com:office:spreadsheet" in text:
            return _XML_2003, _SAVE_AS
        return _XML, _UPLOAD
    # Text has no NUL bytes (UTF-16 was decoded above); most binary formats are full of them.
    controls = len(_CONTROLS.findall(text)) if "\x00" in text else 0
    if controls >= 8 and controls > len(text) * 0.02:  # a stray NUL in a CSV is no reason
        return _BINARY, _UPLOAD
    return None


def _zip_kind(path: str) -> Looks | None:
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
        return _XLSB, _SAVE_AS
    if any(name.startswith("xl/") for name in names):
        return None  # a workbook, perhaps a broken one: the xlsx reader has the details
    if b"opendocument.spreadsheet" in mimetype:
        return _ODS, _SAVE_AS
    if b"opendocument" in mimetype:
        return _ODT, _UPLOAD
    if any(name.startswith("word/") for name in names):
        return _DOCX, _UPLOAD
    if any(name.startswith("ppt/") for name in names):
        return _PPTX, _UPLOAD
    return _ZIP, _UNPACK
