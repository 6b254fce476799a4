"""Import of generated files: any CSV (property test), xlsx workbooks, big files in flat memory."""

from __future__ import annotations

import csv
import io
import re
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from webapp.extensions import db
from webapp.models import Lead
from webapp.services.leads.csv_sniff import detect_format
from webapp.services.leads.imports import ImportFileError, import_file, inspect_file
from webapp.services.leads.xlsx import XLSX_MAX_RATIO

_label = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
_local = st.lists(_label, min_size=1, max_size=3).map(".".join)
valid_email = st.builds(
    lambda local, host, tld: f"{local}@{host}.{tld}", _local, _label, st.sampled_from(["nl", "com"])
)
_any_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)
_cp1252_text = st.text(
    st.characters(codec="cp1252", blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=30,
)


def _encodes(text: str, encoding: str) -> bool:
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, set[str], int]:
    """A CSV as some spreadsheet might write it, the valid addresses in it, its row count."""
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16"]))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    newline = draw(st.sampled_from(["\r\n", "\n", "\r"]))
    text = _cp1252_text if encoding == "cp1252" else _any_text
    rows = draw(
        st.lists(
            st.tuples(
                st.one_of(valid_email, text),
                st.booleans(),  # upper-case and pad the address
                text,
                text,
            ),
            max_size=25,
        )
    )
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=newline)
    # The csv module quotes only the line terminator it writes; spreadsheets quote any newline.
    quoting = csv.writer(out, delimiter=delimiter, lineterminator=newline, quoting=csv.QUOTE_ALL)
    writer.writerow(["E-mail", "Company", "Notes"])
    valid: set[str] = set()
    data_rows = 0
    for address, shout, company, notes in rows:
        is_valid = "@" in address and address == address.strip() and address.isascii()
        if is_valid and "." in address.split("@")[-1] and address[0].isalnum():
            valid.add(address.lower())
        # Upper case can leave the code page: the micro sign (in cp1252) becomes a Greek Mu.
        if shout and "@" in address and _encodes(address.upper(), encoding):
            address = f"  {address.upper()} "
        cells = [address, company, notes]
        multiline = any("\r" in cell or "\n" in cell for cell in cells)
        (quoting if multiline else writer).writerow(cells)
        if any(cell.strip() for cell in (address, company, notes)):
            data_rows += 1
    return out.getvalue().encode(encoding), valid, data_rows


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(generated=csv_files())
def test_importing_any_csv_never_raises_and_never_loses_a_valid_row(
    app: Flask, tmp_path: Path, generated: tuple[bytes, set[str], int]
) -> None:
    data, valid, data_rows = generated
    db.session.execute(sa.delete(Lead))
    path = tmp_path / "generated.csv"
    path.write_bytes(data)
    summary = import_file(str(path), "generated")
    stored = set(db.session.scalars(sa.select(Lead.email)))
    db.session.rollback()
    assert valid <= stored
    # Cells with only whitespace or invisible characters make a row empty, so <=.
    assert summary.rows <= data_rows
    assert summary.rows >= len(valid)


def write_workbook(path: Path, rows: list[list[object]]) -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    workbook.save(path)


def test_an_xlsx_workbook_imports_its_first_sheet_with_formulas_unevaluated(
    app: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "leads.xlsx"
    write_workbook(
        path,
        [
            ["E-mailadres", "Bedrijf", "Website", "Medewerkers", "Som"],
            ["Info@Excel-BV.nl", "Excel BV", "https://excel-bv.nl", 12, "=1+1"],
            [None, None, None, None, None],
            ["geen adres", "Kapot", None, 3.5, None],
        ],
    )
    assert detect_format(str(path)).kind == "xlsx"
    preview = inspect_file(str(path))
    assert preview.mapping == ["email", "company", "url", "var:medewerkers", "var:som"]
    summary = import_file(str(path), "excel")
    assert summary.to_dict() == {
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "skipped": 1,
        "errors": [
            {
                "line": 4,
                "message": "invalid e-mail address 'geen adres': "
                "An email address must have an @-sign.",
            }
        ],
        "duplicates": [],
    }
    lead = db.session.scalars(sa.select(Lead)).one()
    assert (lead.email, lead.company, lead.domain) == (
        "info@excel-bv.nl",
        "Excel BV",
        "excel-bv.nl",
    )
    # A formula Excel never calculated has no cached value: nothing, never "2".
    assert lead.vars == {"company": "Excel BV", "url": "https://excel-bv.nl", "medewerkers": "12"}


def test_a_zip_bomb_posing_as_xlsx_is_refused(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (4 * 1024 * 1024 * 1))
    info = zipfile.ZipFile(path).infolist()[0]
    assert info.file_size > XLSX_MAX_RATIO * info.compress_size
    with pytest.raises(ImportFileError, match="zip bomb"):
        import_file(str(path), "bomb")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 0


def test_a_broken_workbook_is_a_clear_error(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ImportFileError, match="xlsx"):
        import_file(str(path), "broken")


def _generated_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["email", "company", "url", "first_name", "city"])
        for i in range(rows):
            writer.writerow(
                [f"info{i}@bedrijf{i}.nl", f"Bedrijf {i}", f"https://bedrijf{i}.nl", "Jan", "Gouda"]
            )


def _peak_memory(path: Path, list_name: str) -> int:
    tracemalloc.start()
    try:
        import_file(str(path), list_name)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        db.session.rollback()


def test_memory_stays_flat_as_files_grow(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches keep the traced run short; the shape is the same as with the default.
    monkeypatch.setattr("webapp.services.leads.imports.BATCH_SIZE", 500)
    small, large = tmp_path / "small.csv", tmp_path / "large.csv"
    _generated_csv(small, 1_000)
    _generated_csv(large, 5_000)
    small_peak = _peak_memory(small, "small")
    large_peak = _peak_memory(large, "large")
    # Five times the rows; a reader that held the file would need about five times the memory.
    assert large_peak < small_peak * 1.5, (small_peak, large_peak)


_address_text = st.text("abcxyzXN019.-_+@'!", min_size=1, max_size=30)


@settings(max_examples=500, deadline=None)
@given(address=st.one_of(_address_text, valid_email, st.emails()))
@example(address="0@0.N0")  # a top-level domain that ends in a digit
def test_the_fast_path_for_plain_addresses_agrees_with_the_validator(address: str) -> None:
    from email_validator import EmailNotValidError, validate_email

    from webapp.services.leads.columns import _is_plain_address

    lowered = address.lower()
    if _is_plain_address(lowered):
        try:
            result = validate_email(lowered, check_deliverability=False, allow_smtputf8=False)
        except EmailNotValidError as error:
            pytest.fail(f"fast path accepted {lowered!r}, the validator says: {error}")
        assert result.ascii_email == lowered


def _zip(path: Path, entries: dict[str, bytes]) -> bytes:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return path.read_bytes()


NOT_TABLES: dict[str, Callable[[Path], bytes]] = {
    "a PNG image": lambda _: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200),
    "a JPEG image": lambda _: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200),
    "a PDF document": lambda _: b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\n",
    "an HTML page": lambda _: b"<!DOCTYPE html>\n<html><head><title>Leads</title></head>",
    "an old Excel workbook (.xls)": lambda _: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
    "a zip archive": lambda tmp: _zip(tmp / "a.zip", {"leads.csv": b"email\na@b.nl\n"}),
    "a Word document": lambda tmp: _zip(tmp / "d.zip", {"word/document.xml": b"<w/>"}),
    "an OpenDocument spreadsheet (.ods)": lambda tmp: _zip(
        tmp / "o.zip", {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}
    ),
    "a binary file": lambda _: bytes(range(256)) * 8,
}


@pytest.mark.parametrize("looks_like", list(NOT_TABLES))
def test_a_file_that_is_not_a_table_is_refused_saying_what_it_looks_like(
    app: Flask, tmp_path: Path, looks_like: str
) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(NOT_TABLES[looks_like](tmp_path))
    expected = f"This looks like {looks_like}"
    with pytest.raises(ImportFileError, match=re.escape(expected)) as refused:
        inspect_file(str(path))
    assert "not a spreadsheet" in str(refused.value)
    with pytest.raises(ImportFileError, match=re.escape(expected)):
        import_file(str(path), "upload")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 0


def test_an_html_table_saved_as_xls_is_called_a_web_page(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "export.xls"
    path.write_text(
        "\ufeff  <html xmlns:o='urn:schemas-microsoft-com:office:office'><body><table>"
        "<tr><td>email</td></tr><tr><td>a@b.nl</td></tr></table></body></html>",
        encoding="utf-8",
    )
    with pytest.raises(ImportFileError, match="This looks like an HTML page"):
        inspect_file(str(path))


def test_a_stray_nul_byte_does_not_make_a_csv_binary(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "nul.csv"
    path.write_bytes(b"email;company\ninfo@nul.nl;Nul\x00 BV\n")
    assert import_file(str(path), "nul").created == 1
