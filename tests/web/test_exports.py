"""Exports open in Excel as the reader has it: Dutch `;` and decimal commas, or English commas."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from tests.factories import make_campaign, make_event, make_lead, make_message
from webapp.extensions import db

SENT = datetime(2026, 12, 2, 12, 20, 5, 123456, tzinfo=UTC)  # 13:20:05 in Amsterdam


def rows(text: str, delimiter: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff"), "UTF-8 with a BOM, so Excel reads the accents"
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), delimiter=delimiter))


def a_campaign_with_one_opened_mail() -> Any:
    lead = make_lead(email="anne@bakkerij.nl", company="Bakkerij Zoë", vars={"plaats": "Zwolle"})
    campaign = make_campaign(name="Winter", status="running")
    opened = make_message(
        campaign, lead, status="opened", sent_at=SENT, open_at=SENT, scheduled_at=SENT
    )
    make_event(opened, "opened", meta={"machine": False})  # opened by a person
    make_message(campaign, make_lead(email="bas@smid.nl"), status="sent", sent_at=SENT, variant="B")
    make_message(campaign, make_lead(email="cor@kok.nl"), status="sent", sent_at=SENT)
    lead.last_emailed_at = SENT
    db.session.commit()
    return campaign


def test_a_dutch_reader_gets_semicolons_decimal_commas_and_local_time(
    app: Flask, dutch: None, login_as: Callable[[str], Any]
) -> None:
    campaign = a_campaign_with_one_opened_mail()
    client = login_as("manager")

    leads = client.get("/leads/export.csv?sort=email&direction=asc", buffered=True)
    assert re.fullmatch(
        r'attachment; filename="leads-\d{8}-\d{4}\.csv"', leads.headers["Content-Disposition"]
    )
    first = rows(leads.text, ";")[0]
    assert (first["email"], first["company"], first["plaats"]) == (
        "anne@bakkerij.nl",
        "Bakkerij Zoë",
        "Zwolle",
    )
    assert first["stopped"] == "nee"
    assert first["last_emailed_at"] == "2026-12-02 13:20:05"  # local, to the second

    kpis = rows(client.get(f"/kpis/campaigns/{campaign.id}/kpis.csv", buffered=True).text, ";")
    total = next(row for row in kpis if row["scope"] == "campaign")
    assert total["sent"] == "3"
    assert total["open_rate_pct"] == "33,33"  # one of three, with a decimal comma

    messages = client.get(f"/kpis/campaigns/{campaign.id}/messages.csv", buffered=True).text
    opened = next(r for r in rows(messages, ";") if r["lead_email"] == "anne@bakkerij.nl")
    assert (opened["human_opened"], opened["sent_at"]) == ("ja", "2026-12-02 13:20:05")


def test_an_english_reader_gets_commas_and_decimal_points(
    app: Flask, login_as: Callable[[str], Any]
) -> None:
    campaign = a_campaign_with_one_opened_mail()
    client = login_as("manager")

    first = rows(client.get("/leads/export.csv?sort=email&direction=asc", buffered=True).text, ",")[
        0
    ]
    assert (first["email"], first["stopped"]) == ("anne@bakkerij.nl", "no")
    kpis = rows(client.get(f"/kpis/campaigns/{campaign.id}/kpis.csv", buffered=True).text, ",")
    assert next(r for r in kpis if r["scope"] == "campaign")["open_rate_pct"] == "33.33"


def test_the_api_exports_keep_their_documented_form_in_any_language(
    app: Flask, dutch: None, api_client: Callable[[str], Any]
) -> None:
    campaign = a_campaign_with_one_opened_mail()
    client, headers = api_client("manager")
    headers = {**headers, "Accept-Language": "nl"}
    kpis = client.get(f"/api/v1/campaigns/{campaign.id}/kpis.csv", headers=headers, buffered=True)
    total = next(r for r in rows(kpis.text, ",") if r["scope"] == "campaign")
    assert total["open_rate_pct"] == "33.33"
    export = client.get(
        f"/api/v1/campaigns/{campaign.id}/export.csv", headers=headers, buffered=True
    )
    exported = rows(export.text, ",")
    assert exported[0]["human_opened"] in ("yes", "no")
    # The variant each lead got; empty for a mail without an experiment.
    variants = {row["lead_email"]: row["variant"] for row in exported}
    assert variants == {"anne@bakkerij.nl": "", "bas@smid.nl": "B", "cor@kok.nl": ""}
    assert list(exported[0])[4:7] == ["mail_number", "variant", "domain_used"]


def test_the_pages_say_which_kind_of_csv_they_give(
    app: Flask, dutch: None, login_as: Callable[[str], Any]
) -> None:
    campaign = a_campaign_with_one_opened_mail()
    client = login_as("manager")
    note = "Puntkomma's tussen de kolommen en decimale komma's"
    assert note in client.get("/leads/").text
    assert note in client.get(f"/kpis/campaigns/{campaign.id}/kpis").text
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert "Commas between columns and decimal points" in client.get("/leads/").text
