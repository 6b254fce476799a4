"""KPIs, the timeline and the exports over the API and as the campaign page's partials."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from flask import Flask

from tests.factories import make_campaign, make_event, make_lead, make_message
from tests.services.test_kpis import SENT, add, every_kind_of_message
from tests.support.untranslated import ROOT, untranslated_in_template
from webapp.extensions import db


def test_the_api_answers_a_campaigns_kpis_as_interfaces_md_says(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    campaign = make_campaign(domain="punthelder-seo.nl")
    every_kind_of_message(campaign)
    db.session.commit()
    client, headers = api_client("manager")

    body = client.get(f"/api/v1/campaigns/{campaign.id}/kpis", headers=headers).get_json()

    assert {k: body[k] for k in ("planned", "sent", "opened", "human_opened", "replied")} == {
        "planned": 11,
        "sent": 7,
        "opened": 4,
        "human_opened": 2,
        "replied": 1,
    }
    # The headline open rate counts opens by people; the rate over every open is beside it.
    assert (body["open_rate_pct"], body["any_open_rate_pct"]) == (28.57, 57.14)
    assert (body["reply_rate_pct"], body["bounce_rate_pct"]) == (14.29, 28.57)
    assert set(body["by_mail_number"]) == {"1", "2"}
    assert body["by_domain"]["punthelder-marketing.nl"]["open_rate_pct"] == 33.33


def test_a_campaign_that_sent_nothing_answers_null_rates_and_shows_dashes(
    app: Flask, api_client: Callable[[str], Any], login_as: Callable[[str], Any]
) -> None:
    campaign = make_campaign()
    add(campaign, 1, "punthelder-seo.nl", "queued")
    db.session.commit()
    client, headers = api_client("manager")

    body = client.get(f"/api/v1/campaigns/{campaign.id}/kpis", headers=headers).get_json()
    page = login_as("manager").get(f"/kpis/campaigns/{campaign.id}/kpis").text

    assert body["open_rate_pct"] is None and body["reply_rate_pct"] is None
    assert body["bounce_rate_pct"] is None and body["sent"] == 0
    assert page.count('<span class="kpi-dash" title="nothing sent yet">\u2013</span>') >= 3
    assert "0,00%" not in page


def test_the_timeline_api_gives_europe_amsterdam_days(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    from datetime import UTC, datetime

    campaign = make_campaign()
    make_message(
        campaign, make_lead(), status="sent", sent_at=datetime(2026, 7, 14, 23, 30, tzinfo=UTC)
    )
    db.session.commit()
    client, headers = api_client("manager")

    body = client.get(f"/api/v1/campaigns/{campaign.id}/timeline", headers=headers).get_json()

    assert body == [{"date": "2026-07-15", "sent": 1, "opened": 0, "replied": 0, "bounced": 0}]


def test_unknown_campaigns_are_404_in_json(app: Flask, api_client: Callable[[str], Any]) -> None:
    client, headers = api_client("manager")
    for path in ("kpis", "timeline", "export.csv", "kpis.csv"):
        response = client.get(f"/api/v1/campaigns/nope/{path}", headers=headers)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"]


def test_the_api_needs_a_token(app: Flask, client: Any) -> None:
    campaign = make_campaign()
    db.session.commit()
    assert client.get(f"/api/v1/campaigns/{campaign.id}/kpis").status_code == 401


def read_csv(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_the_message_export_has_one_safe_row_per_message(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    campaign = make_campaign()
    every_kind_of_message(campaign)
    lead = make_lead(email="=cmd@evil.nl", company='=HYPERLINK("http://x")')
    message = make_message(campaign, lead, status="sent", sent_at=SENT, last_error="+31 600")
    make_event(message, "replied")
    db.session.commit()
    client, headers = api_client("manager")

    response = client.get(
        f"/api/v1/campaigns/{campaign.id}/export.csv", headers=headers, buffered=True
    )

    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = read_csv(response.text)
    assert len(rows) == 13
    evil = next(r for r in rows if r["message_id"] == message.id)
    assert evil["lead_email"] == "'=cmd@evil.nl"
    assert evil["company"].startswith("'=HYPERLINK")
    assert evil["last_error"] == "'+31 600"
    assert evil["replied_at"] != "" and evil["bounced"] == "no"
    assert sum(r["human_opened"] == "yes" for r in rows) == 2
    assert sum(r["clicked"] == "yes" for r in rows) == 1
    assert sum(r["bounced"] == "yes" for r in rows) == 2
    assert sum(r["unsubscribed"] == "yes" for r in rows) == 1


def test_the_kpi_table_csv_has_the_campaign_each_mail_and_each_domain(
    app: Flask, login_as: Callable[[str], Any]
) -> None:
    campaign = make_campaign()
    every_kind_of_message(campaign)
    db.session.commit()

    response = login_as("manager").get(f"/kpis/campaigns/{campaign.id}/kpis.csv", buffered=True)

    rows = read_csv(response.text)
    assert [(r["scope"], r["key"]) for r in rows] == [
        ("campaign", "all"),
        ("mail_number", "1"),
        ("mail_number", "2"),
        ("domain", "punthelder-marketing.nl"),
        ("domain", "punthelder-seo.nl"),
    ]
    assert rows[0]["sent"] == "7" and rows[0]["open_rate_pct"] == "28.57"
    assert rows[0]["any_open_rate_pct"] == "57.14"


def test_the_cards_partial_shows_every_figure_and_loads_the_timeline_lazily(
    app: Flask, dutch: None, login_as: Callable[[str], Any]
) -> None:
    campaign = make_campaign()
    every_kind_of_message(campaign)
    db.session.commit()
    client = login_as("manager")

    cards = client.get(f"/kpis/campaigns/{campaign.id}/kpis", headers={"HX-Request": "true"})
    timeline = client.get(f"/kpis/campaigns/{campaign.id}/timeline").text

    assert cards.status_code == 200
    assert "14,29%" in cards.text and "57,14%" in cards.text and "28,57%" in cards.text
    assert f'hx-get="/kpis/campaigns/{campaign.id}/timeline"' in cards.text
    assert 'id="timeline-chart"' in timeline and "<polyline" in timeline
    assert 'data-series="replied"' in timeline and "stroke-dasharray" in timeline
    assert '<tr data-date="2026-12-01"><th scope="row">01-12-2026</th><td class="num">7</td>' in (
        timeline
    )


def test_the_campaign_page_loads_the_results_lazily(
    app: Flask, login_as: Callable[[str], Any]
) -> None:
    campaign = make_campaign(status="running")
    db.session.commit()
    page = login_as("manager").get(f"/campaigns/{campaign.id}").text
    assert f'hx-get="/kpis/campaigns/{campaign.id}/kpis" hx-trigger="load"' in page


def test_the_results_and_the_timeline_read_in_dutch(
    app: Flask, dutch: None, login_as: Callable[[str], Any]
) -> None:
    campaign = make_campaign()
    every_kind_of_message(campaign)
    db.session.commit()
    client = login_as("manager")

    cards = client.get(f"/kpis/campaigns/{campaign.id}/kpis").text
    timeline = client.get(f"/kpis/campaigns/{campaign.id}/timeline").text

    assert "Resultaten" in cards and "reactiepercentage · 1 beantwoord" in cards
    assert "<p>verzonden van 11 gepland</p>" in cards
    assert "incl. automatische opens" in cards and "KPI-tabel (CSV)" in cards
    assert "Openpercentage (mensen)" in cards and "Tijdlijn laden…" in cards
    # The chart's text alternative, tooltips, labels and legend are Dutch too.
    assert "Per dag: verzonden als staven; geopend, beantwoord, gebounced als lijnen." in timeline
    assert "<title>01-12-2026: 7 verzonden</title>" in timeline
    assert ">beantwoord</text>" in timeline and "(gestreept, vierkantjes)" in timeline
    assert 'data-series="replied"' in timeline  # the raw name stays for scripts and styles
    assert "as bars" not in timeline and "Hatched" not in timeline

    templates = sorted(
        path for area in ("kpis",) for path in (ROOT / "templates" / area).glob("*.html")
    )
    assert [text for path in templates for text in untranslated_in_template(path)] == []
