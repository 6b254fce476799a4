"""Lead import from real-world spreadsheets: every fixture's exact summary and rows."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.factories import make_lead
from webapp.extensions import db
from webapp.models import Lead, Suppression
from webapp.services.leads.csv_sniff import detect_format
from webapp.services.leads.imports import (
    ImportFileError,
    ImportMappingError,
    import_file,
    inspect_file,
    parse_choices,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "imports"


def fixture(name: str) -> str:
    return str(FIXTURES / name)


def summary_of(name: str, list_name: str = "import") -> dict[str, Any]:
    summary = import_file(fixture(name), list_name).to_dict()
    db.session.commit()
    return summary


def ok(created: int = 0, updated: int = 0, unchanged: int = 0) -> dict[str, Any]:
    return {
        "created": created,
        "updated": updated,
        "unchanged": unchanged,
        "skipped": 0,
        "errors": [],
        "duplicates": [],
    }


def lead_rows() -> list[tuple[Any, ...]]:
    db.session.expire_all()
    leads = db.session.scalars(sa.select(Lead).order_by(Lead.email)).all()
    return [(x.email, x.company, x.url, x.domain, x.status, x.list_name, x.vars) for x in leads]


def test_utf8_with_bom_and_an_e_mail_header(app: Flask) -> None:
    assert summary_of("utf8_bom.csv") == ok(created=2)
    assert lead_rows() == [
        (
            "anna@studio-noord.nl", "Studio Noord", "studio-noord.nl", "studio-noord.nl",
            "active", "import",
            {"company": "Studio Noord", "url": "studio-noord.nl", "first_name": "Anna"},
        ),
        (
            "jan@bakkerij-de-vries.nl", "Bakkerij de Vries", "https://www.bakkerij-de-vries.nl",
            "bakkerij-de-vries.nl", "active", "import",
            {"company": "Bakkerij de Vries", "url": "https://www.bakkerij-de-vries.nl",
             "first_name": "Jan"},
        ),
    ]  # fmt: skip


def test_utf8_without_bom_with_idn_domains(app: Flask) -> None:
    assert detect_format(fixture("utf8_no_bom.csv")).encoding == "utf-8"
    assert summary_of("utf8_no_bom.csv") == ok(created=2)
    assert lead_rows() == [
        (
            "pieter@xn--lectro-ova.nl", "Ëlectro B.V.", None, "xn--lectro-ova.nl", "active",
            "import", {"company": "Ëlectro B.V.", "city": "Delft"},
        ),
        (
            "zoe@xn--cafe-lumire-69a.nl", "Café Lumière", "https://café-lumière.nl",
            "xn--caf-lumire-66ag.nl", "active", "import",
            {"company": "Café Lumière", "url": "https://café-lumière.nl", "city": "Zwolle"},
        ),
    ]  # fmt: skip


def test_dutch_excel_cp1252_with_semicolons_and_crlf(app: Flask) -> None:
    fmt = detect_format(fixture("cp1252_semicolon.csv"))
    assert (fmt.encoding, fmt.delimiter) == ("cp1252", ";")
    assert summary_of("cp1252_semicolon.csv") == ok(created=2)
    assert lead_rows() == [
        (
            "info@cafe-dezwaan.nl", "Café De Zwaan", "www.cafe-dezwaan.nl", "cafe-dezwaan.nl",
            "active", "import",
            {"company": "Café De Zwaan", "url": "www.cafe-dezwaan.nl", "city": "Eindhoven",
             "opmerking": "Zoë belt terug"},
        ),
        (
            "verkoop@groenteboer-muller.nl", "Groenteboer Müller", "https://groenteboer-muller.nl",
            "groenteboer-muller.nl", "active", "import",
            {"company": "Groenteboer Müller", "url": "https://groenteboer-muller.nl",
             "city": "Tilburg", "opmerking": "€ 50 korting"},
        ),
    ]  # fmt: skip


def test_utf16_with_tabs(app: Flask) -> None:
    fmt = detect_format(fixture("utf16_tab.csv"))
    assert (fmt.encoding, fmt.delimiter) == ("utf-16", "\t")
    assert summary_of("utf16_tab.csv") == ok(created=2)
    rows = lead_rows()
    assert [r[0] for r in rows] == ["ines@xn--ijssalon-veneti-mob.nl", "kees@kaashandel.nl"]
    assert rows[0][1] == "IJssalon Venetië"
    assert rows[0][6]["first_name"] == "Inès"


def test_utf16_without_bom_is_recognised(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "no-bom.csv"
    path.write_bytes("email;company\ninfo@zonder-bom.nl;Zonder BOM\n".encode("utf-16-le"))
    assert import_file(str(path), "import").to_dict() == ok(created=1)
    assert lead_rows()[0][:2] == ("info@zonder-bom.nl", "Zonder BOM")


def test_tab_delimited_with_commas_in_cells(app: Flask) -> None:
    assert summary_of("tab.csv") == ok(created=2)
    assert [(r[0], r[1]) for r in lead_rows()] == [
        ("info@tabel-bv.nl", "Tabel BV"),
        ("sales@kolom.nl", "Kolom, Rij & Co"),
    ]


def test_a_leading_sep_line_chooses_the_delimiter(app: Flask) -> None:
    fmt = detect_format(fixture("sep_line.csv"))
    assert (fmt.delimiter, fmt.has_sep_line) == (";", True)
    assert summary_of("sep_line.csv") == ok(created=1)
    assert lead_rows()[0][:3] == (
        "info@scheiding.nl",
        "Scheiding, Teken BV",
        "https://scheiding.nl",
    )


def test_old_mac_cr_line_endings(app: Flask) -> None:
    assert summary_of("cr_only.csv") == ok(created=2)
    assert [(r[0], r[1]) for r in lead_rows()] == [
        ("hallo@klassiek.nl", "Klassiek"),
        ("info@oude-mac.nl", "Oude Mac"),
    ]


def test_quoted_newlines_keep_their_cell_and_errors_name_the_right_line(app: Flask) -> None:
    assert summary_of("quoted_newlines.csv") == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "skipped": 1,
        "errors": [
            {
                "line": 5,
                "message": "invalid e-mail address 'bad-address': "
                "An email address must have an @-sign.",
            }
        ],
        "duplicates": [],
    }
    rows = {r[0]: r for r in lead_rows()}
    assert rows["info@meerregels.nl"][1] == "Meer\nRegels BV"
    assert rows["info@meerregels.nl"][6]["notes"] == "eerste regel\r\ntweede regel"
    assert rows["laatste@regel.nl"][6]["notes"] == 'a "quote"'


def test_an_empty_file_is_refused_before_anything_is_written(app: Flask) -> None:
    with pytest.raises(ImportFileError, match="the file is empty"):
        import_file(fixture("empty.csv"), "import")
    assert lead_rows() == []


def test_a_header_only_file_imports_nothing(app: Flask) -> None:
    assert summary_of("header_only.csv") == ok()
    assert lead_rows() == []


def test_trailing_empty_rows_are_not_rows(app: Flask) -> None:
    assert summary_of("trailing_empty_rows.csv") == ok(created=1)
    assert [r[0] for r in lead_rows()] == ["info@leeg.nl"]


def test_duplicate_columns_keep_both_values(app: Flask) -> None:
    preview = inspect_file(fixture("duplicate_columns.csv"))
    assert preview.mapping == ["email", "company", "var:phone", "var:telefoon", "var:email_2"]
    assert summary_of("duplicate_columns.csv") == ok(created=1)
    assert lead_rows()[0][6] == {
        "company": "Dubbel BV",
        "phone": "010-1234567",
        "telefoon": "06-12345678",
        "email_2": "other@dubbel.nl",
    }


def test_a_missing_email_column_is_a_clear_error_before_anything_is_written(app: Flask) -> None:
    preview = inspect_file(fixture("missing_email_column.csv"))
    assert preview.error is not None
    assert "no e-mail column" in preview.error
    assert "'naam', 'bedrijf', 'website'" in preview.error
    with pytest.raises(ImportFileError, match="no e-mail column"):
        import_file(fixture("missing_email_column.csv"), "import")
    assert lead_rows() == []


def test_a_chosen_mapping_fixes_a_missing_email_column(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "adres.csv"
    path.write_text("naam;adres\nJan;jan@gekozen.nl\n")
    summary = import_file(str(path), "import", mapping=["var:naam", "email"])
    assert summary.to_dict() == ok(created=1)
    assert lead_rows()[0][0] == "jan@gekozen.nl"


def test_formulas_are_stored_as_text(app: Flask) -> None:
    assert summary_of("formulas.csv") == ok(created=2)
    rows = {r[0]: r for r in lead_rows()}
    assert rows["info@formule.nl"][1] == '=HYPERLINK("http://evil.example","klik")'
    assert rows["info@formule.nl"][6]["notes"] == "+31 20 123 4567"
    assert rows["som@formule.nl"][1] == "@SUM(A1:A9)"
    assert rows["som@formule.nl"][6]["notes"] == "-5"


def test_template_syntax_in_data_is_stored_never_rendered(app: Flask) -> None:
    assert summary_of("template_in_company.csv") == ok(created=1)
    row = lead_rows()[0]
    assert row[1] == "{{ 7*7 }} Sjablonen BV"
    assert row[6]["company"] == "{{ 7*7 }} Sjablonen BV"
    assert row[6]["first_name"] == "{% if true %}Jan{% endif %}"


def test_addresses_are_normalised_and_invalid_ones_listed(app: Flask) -> None:
    summary = summary_of("normalisation.csv")
    assert summary == {
        "created": 6,
        "updated": 0,
        "unchanged": 0,
        "skipped": 4,
        "errors": [
            {
                "line": 8,
                "message": "invalid e-mail address 'jürgen@bücher.de': Internationalized "
                "characters before the @-sign are not supported: 'ü'.",
            },
            {
                "line": 9,
                "message": "invalid e-mail address 'geen-apenstaartje.nl': "
                "An email address must have an @-sign.",
            },
            {
                "line": 10,
                "message": "invalid e-mail address 'twee@@apen.nl': "
                "The part after the @-sign contains invalid characters: '@'.",
            },
            {"line": 11, "message": "no e-mail address"},
        ],
        "duplicates": [],
    }
    assert [(r[0], r[1], r[3]) for r in lead_rows()] == [
        ("info@mailto.nl", "Mailto", "mailto.nl"),
        ("jan@bakkerij.nl", "Hoofdletters", "bakkerij.nl"),
        ("jurgen@xn--bcher-kva.de", "IDN", "xn--bcher-kva.de"),
        ("nbsp@spatie.nl", "Harde spatie", "spatie.nl"),
        ("piet@jansen-bouw.nl", "Naam ervoor", "jansen-bouw.nl"),
        ("zerowidth@onzichtbaar.nl", "Nulbreedte", "onzichtbaar.nl"),
    ]


def test_a_duplicate_address_keeps_the_first_row_and_reports_the_line(app: Flask) -> None:
    assert summary_of("duplicates.csv") == {
        **ok(created=2),
        "skipped": 2,
        "duplicates": [
            {"line": 3, "kept_line": 2, "email": "info@dubbel.nl"},
            {"line": 4, "kept_line": 2, "email": "info@dubbel.nl"},
        ],
    }
    rows = {r[0]: r for r in lead_rows()}
    assert set(rows) == {"info@dubbel.nl", "ander@dubbel.nl"}
    assert rows["info@dubbel.nl"][1:3] == ("Dubbel BV", "https://dubbel.nl")
    assert rows["info@dubbel.nl"][6] == {
        "company": "Dubbel BV",
        "url": "https://dubbel.nl",
        "first_name": "Jan",
    }


def test_a_later_person_with_the_same_address_does_not_take_the_first_one_s_name(
    app: Flask, tmp_path: Path
) -> None:
    path = tmp_path / "team.csv"
    path.write_text(
        "E-mailadres;Voornaam\ninfo@bureau.nl;Anne\nkees@bureau.nl;Kees\n INFO@Bureau.nl ;Eva\n"
    )
    summary = import_file(str(path), "team").to_dict()
    assert summary["duplicates"] == [{"line": 4, "kept_line": 2, "email": "info@bureau.nl"}]
    assert (summary["created"], summary["skipped"], summary["errors"]) == (2, 1, [])
    assert {r[0]: r[6]["first_name"] for r in lead_rows()} == {
        "info@bureau.nl": "Anne",
        "kees@bureau.nl": "Kees",
    }


def test_a_duplicate_in_a_later_batch_names_the_line_of_an_earlier_batch(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("webapp.services.leads.imports.BATCH_SIZE", 2)
    path = tmp_path / "batches.csv"
    lines = ["email,first_name", "a@x.nl,Anne", "b@x.nl,Bas", "c@x.nl,Cor", "A@X.NL,Eva"]
    path.write_text("\n".join([*lines, "b@x.nl,Bram", "a@x.nl,Ans"]) + "\n")
    summary = import_file(str(path), "batches").to_dict()
    assert summary["duplicates"] == [
        {"line": 5, "kept_line": 2, "email": "a@x.nl"},
        {"line": 6, "kept_line": 3, "email": "b@x.nl"},
        {"line": 7, "kept_line": 2, "email": "a@x.nl"},
    ]
    assert (summary["created"], summary["skipped"]) == (3, 3)
    assert {r[0]: r[6]["first_name"] for r in lead_rows()} == {
        "a@x.nl": "Anne",
        "b@x.nl": "Bas",
        "c@x.nl": "Cor",
    }


@pytest.mark.parametrize(
    "name",
    [
        "utf8_bom.csv",
        "utf8_no_bom.csv",
        "cp1252_semicolon.csv",
        "utf16_tab.csv",
        "duplicates.csv",
        "normalisation.csv",
        "quoted_newlines.csv",
    ],
)
def test_reimporting_the_same_file_changes_nothing(app: Flask, name: str) -> None:
    first = summary_of(name)
    before = lead_rows()
    again = summary_of(name)
    data_rows = first["created"] + first["updated"] + first["unchanged"]
    assert again == {**first, "created": 0, "updated": 0, "unchanged": data_rows}
    assert lead_rows() == before


def test_existing_leads_are_updated_but_never_undeleted_unstopped_or_unsuppressed(
    app: Flask,
) -> None:
    from webapp.database import utcnow

    deleted = make_lead(email="info@dubbel.nl", company="Oud", url=None, vars={"x": "1"})
    deleted.deleted_at = utcnow()
    stopped = make_lead(email="ander@dubbel.nl", stopped=True, status="bounced")
    db.session.commit()
    assert summary_of("duplicates.csv", "nieuw")["updated"] == 2
    db.session.expire_all()
    assert deleted.deleted_at is not None
    assert deleted.company == "Dubbel BV"
    assert deleted.vars["x"] == "1" and deleted.vars["first_name"] == "Jan"
    assert deleted.list_name == "nieuw"
    assert (stopped.stopped, stopped.status) == (True, "bounced")


def test_a_suppressed_lead_reimported_as_active_stays_suppressed(app: Flask) -> None:
    make_lead(email="weg@afgemeld.nl", status="suppressed")
    db.session.add(Suppression(email="weg@afgemeld.nl", reason="unsubscribed"))
    db.session.add(Suppression(domain="geblokkeerd.nl", reason="manual"))
    db.session.commit()
    assert summary_of("suppressed.csv") == ok(created=2, updated=1)
    statuses = {r[0]: (r[4], "status" in r[6]) for r in lead_rows()}
    assert statuses == {
        "weg@afgemeld.nl": ("suppressed", False),
        "iemand@geblokkeerd.nl": ("suppressed", False),
        "nieuw@welkom.nl": ("active", False),
    }


def test_a_suppressed_address_without_a_lead_is_created_suppressed(app: Flask) -> None:
    db.session.add(Suppression(email="nieuw@welkom.nl", reason="complaint"))
    db.session.commit()
    summary_of("suppressed.csv")
    assert {r[0]: r[4] for r in lead_rows()}["nieuw@welkom.nl"] == "suppressed"


def test_a_list_name_is_required(app: Flask) -> None:
    with pytest.raises(ImportFileError, match="list name"):
        import_file(fixture("utf8_bom.csv"), "  ")


# -- mapping columns to fields ------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "leads.csv") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_dutch_headers_map_to_the_known_fields(app: Flask, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "E-mailadres;Aanhef;Voornaam;Achternaam;Functie;Bedrijfsnaam;Webadres;Adres;Postcode;"
        "Woonplaats;Telefoon;KvK-nummer;Branche\n"
        "anne@bakkerij.nl;Mevrouw;Anne;de Vries;Eigenaar;Bakkerij;bakkerij.nl;Dorpsstraat 1;"
        "1234 AB;Utrecht;030-1234567;12345678;horeca\n",
    )
    assert inspect_file(path).mapping == [
        "email", "var:salutation", "var:first_name", "var:last_name", "var:job_title",
        "company", "url", "var:address", "var:postcode", "var:city", "var:phone",
        "var:kvk_number", "var:branche",
    ]  # fmt: skip
    assert import_file(path, "import").to_dict() == ok(created=1)
    assert lead_rows()[0][6] == {
        "salutation": "Mevrouw", "first_name": "Anne", "last_name": "de Vries",
        "job_title": "Eigenaar", "company": "Bakkerij", "url": "bakkerij.nl",
        "address": "Dorpsstraat 1", "postcode": "1234 AB", "city": "Utrecht",
        "phone": "030-1234567", "kvk_number": "12345678", "branche": "horeca",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (
            "Email Address,First name,Last name,Job Title,Company,Website,City,Phone,Zip code",
            ["email", "var:first_name", "var:last_name", "var:job_title", "company", "url",
             "var:city", "var:phone", "var:postcode"],
        ),
        (
            "E-MAIL,VOORNAAM,achter_naam,Bedrijf,URL,Stad,Tel.",
            ["email", "var:first_name", "var:last_name", "company", "url", "var:city",
             "var:phone"],
        ),
        (
            "e-mail adres;first-name;Last Name;Plaats;Webadres;Kamer van Koophandel",
            ["email", "var:first_name", "var:last_name", "var:city", "url", "var:kvk_number"],
        ),
    ],
)  # fmt: skip
def test_headers_are_recognised_whatever_their_case_and_punctuation(
    app: Flask, tmp_path: Path, header: str, expected: list[str]
) -> None:
    assert inspect_file(write(tmp_path, header + "\n")).mapping == expected


def test_a_second_column_for_a_field_keeps_its_own_variable(app: Flask, tmp_path: Path) -> None:
    path = write(tmp_path, "email,Voornaam,Roepnaam\nanne@x.nl,Anna,Anne\n")
    assert inspect_file(path).mapping == ["email", "var:first_name", "var:roepnaam"]


def test_a_chosen_mapping_by_column_name_overrides_the_guess(app: Flask, tmp_path: Path) -> None:
    path = write(
        tmp_path, "Mail;Klant;Contact;Plaats;Notitie\neva@klant.nl;Klant BV;Eva;Gouda;bellen\n"
    )
    summary = import_file(
        path,
        "import",
        choices={"klant": "company", "Contact": "First name", "Plaats": None, "Notitie": "memo"},
    )
    assert summary.to_dict() == ok(created=1)
    assert lead_rows()[0][1] == "Klant BV"
    assert lead_rows()[0][6] == {"company": "Klant BV", "first_name": "Eva", "memo": "bellen"}


def test_a_chosen_field_leaves_the_column_guessed_for_it_as_a_variable(
    app: Flask, tmp_path: Path
) -> None:
    path = write(tmp_path, "email;Bedrijf;Handelsnaam\nx@y.nl;Holding BV;Bakkerij Y\n")
    import_file(path, "import", choices={"Handelsnaam": "company"})
    assert lead_rows()[0][1] == "Bakkerij Y"
    assert lead_rows()[0][6] == {"company": "Bakkerij Y", "bedrijf": "Holding BV"}


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ({"Voornaam": "first_name", "Roepnaam": "first_name"}, "both go to First name"),
        ({"Voornaam": "naam", "Roepnaam": "Naam"}, "both go to variable naam"),
        ({"Achternaam": "last_name"}, "the file has no column 'Achternaam'"),
        ({"Voornaam": "first_name", "voornaam": "naam"}, "names column 'Voornaam' a second"),
        ({"Voornaam": "status"}, "'status' is kept by the product"),
        ({"Voornaam": "!!"}, "'!!' is not a field or variable name"),
        ({"email": None}, "no e-mail column"),
        ({"email": "email", "Roepnaam": "E-mail"}, "both go to E-mail"),
    ],
)
def test_a_mapping_that_cannot_be_used_is_refused_before_anything_is_written(
    app: Flask, tmp_path: Path, choices: dict[str, str | None], message: str
) -> None:
    path = write(tmp_path, "email,Voornaam,Roepnaam\nanne@x.nl,Anna,Anne\n")
    with pytest.raises(ImportMappingError, match=re.escape(message)):
        import_file(path, "import", choices=choices)
    assert lead_rows() == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["company"]', "must be a JSON object"),
        ('{"Bedrijf": 3}', "must be a name or null"),
    ],
)
def test_a_mapping_must_be_a_json_object_of_names(text: str, message: str) -> None:
    with pytest.raises(ImportMappingError, match=message):
        parse_choices(text)


def test_the_page_s_choices_offer_the_known_fields_and_the_column_s_own_variable(
    app: Flask, tmp_path: Path
) -> None:
    preview = inspect_file(write(tmp_path, "email;Plaats;Roepnaam\nx@y.nl;Gouda;Anne\n"))
    second = dict(preview.choices()[1])
    assert second["var:city"] == "City" and second["var:plaats"] == "variable plaats"
    assert second["ignore"] == "skip"
    chosen = preview.choose([None, "var:plaats", "var:first_name"])
    assert chosen.mapping == ["email", "var:plaats", "var:first_name"]
    assert chosen.imported() == (
        ["E-mail", "variable plaats", "First name"],
        [["x@y.nl", "Gouda", "Anne"]],
    )
    twice = preview.choose([None, "var:first_name", "var:first_name"])
    assert twice.error is not None and "First name" in twice.error
    assert preview.choose([None, "var:elsewhere"]).mapping[1] == "var:city"  # not offered
