"""Hostile lead files: what an import costs depends on what the file really holds."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from webapp.extensions import db
from webapp.models import Lead
from webapp.services.leads.csv_sniff import MAX_COLUMNS
from webapp.services.leads.imports import (
    PREVIEW_CELL_CHARS,
    ImportFileError,
    import_file,
    inspect_file,
)
from webapp.services.leads.xlsx import XLSX_MAX_RATIO, XLSX_MAX_SHARED_STRINGS

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def lead_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) or 0


def raw_workbook(path: Path, sheet: str, shared: bytes | None = None) -> None:
    """An .xlsx written part by part, so a test can make it say whatever it likes."""
    shared_type = (
        f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_TYPE}.sharedStrings+xml"/>'
        if shared is not None
        else ""
    )
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/vnd.openxml'
            'formats-package.relationships+xml"/><Default Extension="xml" ContentType='
            f'"application/xml"/><Override PartName="/xl/workbook.xml" ContentType="{_TYPE}'
            '.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType='
            f'"{_TYPE}.worksheet+xml"/>{shared_type}</Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
            f'Type="{_DOC}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0"?><workbook xmlns="{MAIN}" xmlns:r="{_DOC}"><sheets>'
            '<sheet name="Leads" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0"?><Relationships xmlns="{_RELS}"><Relationship Id="rId1" '
            f'Type="{_DOC}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        if shared is not None:
            archive.writestr("xl/sharedStrings.xml", shared)


def sheet_xml(rows: dict[int, dict[str, str]], dimension: str = "A1:C3") -> str:
    """A sheet of inline-string cells: {row number: {column letters: text}}."""
    body = "".join(
        f'<row r="{number}">'
        + "".join(
            f'<c r="{column}{number}" t="inlineStr"><is><t>{text}</t></is></c>'
            for column, text in cells.items()
        )
        + "</row>"
        for number, cells in rows.items()
    )
    return (
        f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><dimension ref="{dimension}"/>'
        f"<sheetData>{body}</sheetData></worksheet>"
    )


# -- columns ----------------------------------------------------------------------------


def test_a_csv_of_four_thousand_columns_is_refused_naming_the_cap(
    app: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "wide.csv"
    header = ";".join(["email", *(f"k{i}" for i in range(3_999))])
    path.write_text(header + "\n" + "info@breed.nl" + ";x" * 3_999 + "\n")
    assert path.stat().st_size < 40_000  # a small file: the width is the whole attack

    with pytest.raises(ImportFileError, match=f"more than {MAX_COLUMNS} columns"):
        inspect_file(str(path))
    with pytest.raises(ImportFileError, match=f"at most {MAX_COLUMNS} can be imported"):
        import_file(str(path), "breed")
    assert lead_count() == 0


def test_unused_empty_columns_at_the_end_do_not_count_against_the_cap(
    app: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "sloppy.csv"
    path.write_text("email;company" + ";" * 500 + "\ninfo@slordig.nl;Slordig BV" + ";" * 500 + "\n")
    preview = inspect_file(str(path))
    # Up to the cap they stay columns, as they always were; past it they are dropped.
    assert preview.header == ["email", "company"] + [""] * (MAX_COLUMNS - 2)
    assert preview.rows == [["info@slordig.nl", "Slordig BV"] + [""] * (MAX_COLUMNS - 2)]
    assert import_file(str(path), "slordig").created == 1


def test_the_preview_stays_small_whatever_the_rows_hold(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    long_cell = "x" * 50_000
    lines = ["email;company;notes"]
    lines += [f"info{i}@lang.nl;Lang {i};{long_cell}" + ";extra" * 5_000 for i in range(10)]
    path.write_text("\n".join(lines) + "\n")
    preview = inspect_file(str(path))
    assert len(preview.rows) == 5
    assert all(len(row) == 3 for row in preview.rows)  # cells beyond the header are dropped
    assert all(len(row[2]) == PREVIEW_CELL_CHARS and row[2].endswith("…") for row in preview.rows)
    # The import itself keeps the whole cell.
    import_file(str(path), "lang")
    lead = db.session.scalars(sa.select(Lead).where(Lead.email == "info0@lang.nl")).one()
    assert lead.vars["notes"] == long_cell


# -- xlsx: the cells that exist ---------------------------------------------------------


def test_a_workbook_claiming_the_whole_sheet_is_read_by_its_real_cells(
    app: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "lying.xlsx"
    rows = {1: {"A": "E-mailadres", "B": "Bedrijf", "C": "Plaats"}}
    rows |= {n: {"A": f"info{n}@echt.nl", "B": f"Echt {n}", "C": "Gouda"} for n in range(2, 8)}
    rows[1_048_576] = {"A": "laatste@echt.nl", "B": "Laatste", "C": "Delft"}
    raw_workbook(path, sheet_xml(rows, dimension="A1:XFD1048576"))

    preview = inspect_file(str(path))
    assert preview.header == ["E-mailadres", "Bedrijf", "Plaats"]
    assert [len(row) for row in preview.rows] == [3] * 5
    summary = import_file(str(path), "echt")
    assert (summary.created, summary.skipped) == (7, 0)
    last = db.session.scalars(sa.select(Lead).where(Lead.email == "laatste@echt.nl")).one()
    assert last.vars == {"company": "Laatste", "city": "Delft"}


def test_a_workbook_cell_far_to_the_right_is_not_a_column(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "far.xlsx"
    rows = {1: {"A": "email", "B": "company"}, 2: {"A": "info@ver.nl", "B": "Ver", "XFD": "x"}}
    raw_workbook(path, sheet_xml(rows))
    assert import_file(str(path), "ver").created == 1
    assert db.session.scalars(sa.select(Lead)).one().vars == {"company": "Ver"}

    wide = tmp_path / "wide.xlsx"
    raw_workbook(wide, sheet_xml({1: {"A": "email", "KZ": "column 312"}, 2: {"A": "a@b.nl"}}))
    with pytest.raises(ImportFileError, match=f"more than {MAX_COLUMNS} columns"):
        inspect_file(str(wide))


def test_a_workbook_broken_halfway_is_a_clear_error(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "half.xlsx"
    rows = {n: {"A": f"info{n}@half.nl"} for n in range(2, 40)}
    whole = sheet_xml({1: {"A": "email"}, **rows})
    raw_workbook(path, whole[: whole.index('<row r="30">')] + "<row r=")  # cut off mid-tag
    with pytest.raises(ImportFileError, match="cannot be read"):
        import_file(str(path), "half")


# -- xlsx: what it unpacks to -----------------------------------------------------------


def test_shared_strings_that_unpack_far_but_under_the_ratio_are_refused(
    app: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "strings.xlsx"
    count = 1_200_000
    shared = (
        f'<?xml version="1.0"?><sst xmlns="{MAIN}" count="{count}" uniqueCount="{count}">'.encode()
        + b"".join(b"<si><t>lead %d</t></si>" % i for i in range(count))
        + b"</sst>"
    )
    sheet = (
        f'<?xml version="1.0"?><worksheet xmlns="{MAIN}"><sheetData><row r="1">'
        '<c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>'
    )
    raw_workbook(path, sheet, shared)
    info = zipfile.ZipFile(path).getinfo("xl/sharedStrings.xml")
    # It slips under the ratio guard; only the size it unpacks to gives it away.
    assert info.file_size < XLSX_MAX_RATIO * info.compress_size
    assert info.file_size > XLSX_MAX_SHARED_STRINGS
    with pytest.raises(ImportFileError, match="shared strings") as refused:
        inspect_file(str(path))
    assert "CSV" in str(refused.value)
    assert lead_count() == 0


def test_a_workbook_whose_zip_understates_a_part_is_refused(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "understated.xlsx"
    rows = {n: {"A": f"info{n}@klein.nl"} for n in range(2, 2_000)}
    raw_workbook(path, sheet_xml({1: {"A": "email"}, **rows}))
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    # Its uncompressed size, in the local header and in the central directory, says 1 KB.
    for signature, name_at, size_at in ((b"PK\x03\x04", 30, 22), (b"PK\x01\x02", 46, 24)):
        start = data.find(signature)
        while data[start + name_at : start + name_at + len(name)] != name:
            start = data.find(signature, start + 4)
        struct.pack_into("<I", data, start + size_at, 1_000)
    path.write_bytes(bytes(data))
    with pytest.raises(ImportFileError, match="not a valid xlsx workbook"):
        import_file(str(path), "klein")
    assert lead_count() == 0
