"""What the lead services say reaches a Dutch reader in Dutch: import refusals, the rows an
import skipped, lead edits refused; and why a campaign's mail was canceled."""

from __future__ import annotations

import html
import io
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_campaign, make_lead, make_message
from tests.support.untranslated import ROOT, untranslated_in_python
from webapp.extensions import db
from webapp.models import CancelReason, ImportJob

HTMX = {"HX-Request": "true"}
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64)


def preview(client: FlaskClient, content: bytes, name: str = "leads.csv") -> str:
    response = client.post(
        "/leads/import/preview",
        data={"csrf_token": client.csrf, "file": (io.BytesIO(content), name)},  # type: ignore[attr-defined]
        headers=HTMX,
    )
    return html.unescape(response.text) + f"\n<!-- {response.status_code} -->"


def test_an_upload_that_is_no_spreadsheet_is_refused_in_dutch(
    app: Flask, dutch: None, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    image = preview(client, PNG)
    assert "<!-- 422 -->" in image
    assert (
        "Dit lijkt een PNG-afbeelding, geen spreadsheet. Upload de lijst als CSV-bestand of als"
        " Excel-werkmap (.xlsx)." in image
    )
    page = preview(client, b"<!doctype html><html><body>Inloggen</body></html>")
    assert "Dit lijkt een HTML-pagina, geen spreadsheet. Download de lijst zelf" in page
    assert "het bestand is leeg" in preview(client, b"")
    assert "looks like" not in image + page


def test_an_import_names_its_columns_and_the_rows_it_skipped_in_dutch(
    app: Flask, dutch: None, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    shown = preview(client, b"naam;voornaam\nBakkerij;Anne\n")
    assert "geen e-mailkolom: noem er een `email`, `E-mail` of `E-mailadres`" in shown
    assert ">Voornaam<" in shown and "variabele naam" in shown and ">overslaan<" in shown
    db.session.execute(sa.delete(ImportJob))
    db.session.commit()

    rows = (
        "email;bedrijf;website\n"
        "info@goed.nl;Goed;https://goed.nl\n"
        "geen-apenstaartje.nl;Fout;\n"
        ";Leeg;\n"
        "info@script.nl;Script;javascript:alert(1)\n"
    )
    preview(client, rows.encode())
    job = db.session.scalars(sa.select(ImportJob)).one()
    done = client.post(
        f"/leads/import/{job.id}/start",
        data={"csrf_token": client.csrf, "list_name": "Oost"},  # type: ignore[attr-defined]
        headers=HTMX,
    )
    assert done.status_code == 200, done.text
    text = html.unescape(done.text)
    assert (
        "ongeldig e-mailadres 'geen-apenstaartje.nl': Een e-mailadres moet een @-teken hebben."
        in text
    )
    assert "<td>geen e-mailadres</td>" in text
    assert "url: een webadres dat begint met http:// of https://" in text
    assert "invalid" not in text and "must have" not in text


def test_a_lead_edit_refused_names_each_field_in_dutch(
    app: Flask, dutch: None, login_as: Callable[[str], FlaskClient]
) -> None:
    lead = make_lead(email="jan@klant.nl", company="Klant")
    make_lead(email="piet@klant.nl")
    db.session.commit()
    client = login_as("marketer")
    data = {
        "csrf_token": client.csrf,  # type: ignore[attr-defined]
        "email": "piet@klant.nl",
        "company": "Klant",
        "url": "ftp://klant.nl",
        "new_var_name": "company",
        "new_var_value": "x",
    }
    response = client.post(f"/leads/{lead.id}/edit", data=data)
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert "Een paar velden kloppen nog niet; er is niets opgeslagen." in text
    assert "een andere lead heeft dit adres al" in text
    assert "een webadres dat begint met http:// of https://" in text
    assert "company is een veld van de lead, hierboven" in text
    bad = client.post(f"/leads/{lead.id}/edit", data=data | {"email": "a..b@klant.nl"})
    assert "Een e-mailadres kan geen twee punten achter elkaar hebben." in html.unescape(bad.text)


def test_the_messages_table_says_why_a_mail_was_canceled_in_dutch(
    app: Flask, dutch: None, login_as: Callable[[str], FlaskClient]
) -> None:
    campaign = make_campaign(status="stopped")
    reasons = {
        CancelReason.CAMPAIGN_STOPPED: "campagne gestopt",
        CancelReason.FOLLOWUPS_OFF: "opvolgmails uitgezet",
        CancelReason.LEAD_REPLIED: "lead heeft geantwoord",
        "emailed recently": "onlangs gemaild",
        CancelReason.EARLIER_MAIL_FAILED: "eerdere mail mislukt",
        CancelReason.ADDRESS_SUPPRESSED: "adres uitgesloten",
        CancelReason.DOMAIN_SUPPRESSED: "domein uitgesloten",
        CancelReason.LEAD_BOUNCED: "lead gebounced",
        CancelReason.LEAD_MAILED_ELSEWHERE: "lead onlangs gemaild door een andere campagne",
        CancelReason.COMPANY_MAILED_ELSEWHERE: "bedrijf onlangs gemaild door een andere campagne",
    }
    for reason in reasons:
        make_message(campaign, make_lead(), status="canceled", last_error=reason)
    make_message(campaign, make_lead(), status="failed", last_error="550 5.1.1 mailbox unknown")
    db.session.commit()
    table = login_as("marketer").get(f"/campaigns/{campaign.id}/messages", headers=HTMX)
    assert table.status_code == 200
    for dutch_reason in reasons.values():
        assert f'<small class="muted">{dutch_reason}</small>' in table.text
    assert '<small class="muted">550 5.1.1 mailbox unknown</small>' in table.text
    assert "campaign stopped" not in table.text


def test_the_messages_table_keeps_english_reasons_for_an_english_reader(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    campaign = make_campaign(status="stopped")
    make_message(campaign, make_lead(), status="canceled", last_error="campaign stopped")
    db.session.commit()
    table = login_as("marketer").get(f"/campaigns/{campaign.id}/messages", headers=HTMX)
    assert '<small class="muted">campaign stopped</small>' in table.text


def test_no_lead_service_message_bypasses_the_catalog() -> None:
    files = sorted((ROOT / "webapp/services/leads").glob("*.py"))
    found = {str(path.relative_to(ROOT)): untranslated_in_python(path) for path in files}
    assert {name: texts for name, texts in found.items() if texts} == {}
