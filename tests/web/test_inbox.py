"""The Inbox page: replies per campaign, bounces and auto-replies in their own tabs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_campaign, make_event, make_lead, make_message
from tests.support.untranslated import ROOT, untranslated_in_template
from webapp.extensions import db


def _inbound(app: Flask) -> dict[str, object]:
    """Two campaigns with a reply each, a hard and a soft bounce, an out-of-office."""
    spring = make_campaign(name="Voorjaar SEO")
    autumn = make_campaign(name="Najaar webshops")
    anne = make_lead(email="anne@jansen-bouw.nl", company="Jansen Bouw")
    piet = make_lead(email="piet@bakker-installatie.nl", company="Bakker Installatie")
    gone = make_lead(email="oud@verdwenen.nl", company="Verdwenen BV")
    full = make_lead(email="vol@postbus.nl", company="Postbus Vol")
    away = make_lead(email="joost@smit-advies.nl", company="Smit Advies")
    at = datetime(2026, 11, 24, 9, 14, tzinfo=UTC)
    for campaign, lead, text in (
        (spring, anne, "Interessant! Kun je donderdag bellen?"),
        (autumn, piet, "Stuur mij maar een offerte."),
    ):
        message = make_message(campaign, lead, status="sent")
        make_event(message, "replied", created_at=at, meta={"excerpt": text, "from": lead.email})
    make_event(
        make_message(spring, gone, status="bounced"),
        "bounced",
        meta={"status": "5.1.1", "diagnostic": "550 5.1.1 User unknown", "hard": True},
    )
    make_event(
        make_message(spring, full, status="sent"),
        "soft_bounce",
        meta={"status": "4.2.2", "diagnostic": "452 4.2.2 Mailbox full", "hard": False},
    )
    make_event(
        make_message(autumn, away, status="sent"),
        "auto_replied",
        meta={
            "subject": "Automatisch antwoord: Mail 1",
            "excerpt": "Ik ben afwezig tot 4 december.",
        },
    )
    db.session.commit()
    return {"spring": spring, "autumn": autumn}


def test_replies_are_listed_per_campaign_with_lead_time_and_first_lines(
    app: Flask, dutch: None, login_as: Callable[[str], FlaskClient]
) -> None:
    made = _inbound(app)
    client = login_as("marketer")

    page = client.get("/inbox/")

    assert page.status_code == 200
    html = page.text
    assert 'href="/inbox/"' in html and ">Inbox<" in html  # in the navigation
    assert f'id="inbox-campaign-{made["spring"].id}"' in html
    assert f'id="inbox-campaign-{made["autumn"].id}"' in html
    assert "Jansen Bouw" in html and "Interessant! Kun je donderdag bellen?" in html
    assert "Bakker Installatie" in html and "Stuur mij maar een offerte." in html
    assert "24-11-2026 10:14" in html  # Europe/Amsterdam
    assert "User unknown" not in html  # bounces live in their own tab
    assert 'aria-selected="true"' in html.split('id="inbox-tab-replies"')[1].split(">")[0]


def test_the_bounces_tab_is_an_htmx_fragment_with_hard_and_soft_bounces(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    _inbound(app)
    client = login_as("marketer")

    fragment = client.get("/inbox/?tab=bounces", headers={"HX-Request": "true"})

    assert fragment.status_code == 200
    html = fragment.text
    assert html.lstrip().startswith('<section id="inbox">')
    assert "<html" not in html
    assert "Verdwenen BV" in html and "5.1.1" in html and "550 5.1.1 User unknown" in html
    assert "Postbus Vol" in html and "4.2.2" in html
    assert "<td>hard</td>" in html and "<td>soft</td>" in html
    assert "Interessant!" not in html
    assert 'Bounces <span class="muted">(2)</span>' in html


def test_the_auto_replies_tab_lists_out_of_office_replies(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    _inbound(app)
    client = login_as("manager")

    page = client.get("/inbox/?tab=auto_replies")

    assert page.status_code == 200
    assert "Smit Advies" in page.text
    assert "Ik ben afwezig tot 4 december." in page.text
    assert "Verdwenen BV" not in page.text


def test_an_empty_inbox_says_so_and_an_unknown_tab_shows_replies(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")

    assert "No replies yet." in client.get("/inbox/").text
    assert "No replies yet." in client.get("/inbox/?tab=nonsense").text
    assert "No bounces yet." in client.get("/inbox/?tab=bounces").text


def test_the_inbox_needs_a_login(client: FlaskClient) -> None:
    response = client.get("/inbox/")
    assert response.status_code in (302, 401)


def test_the_inbox_reads_in_dutch(
    app: Flask, dutch: None, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    assert "Nog geen automatische antwoorden." in client.get("/inbox/?tab=auto_replies").text
    assert "Nog geen reacties." in client.get("/inbox/").text
    _inbound(app)

    replies = client.get("/inbox/").text
    assert "Reacties" in replies and "Automatische antwoorden" in replies
    assert "1 reactie<" in replies and "Ontvangen" in replies and "Antwoord" in replies
    bounces = client.get("/inbox/?tab=bounces").text
    assert "<td>hard</td>" in bounces and "<td>zacht</td>" in bounces and "Diagnose" in bounces

    templates = sorted(
        path for area in ("inbox",) for path in (ROOT / "templates" / area).glob("*.html")
    )
    assert [text for path in templates for text in untranslated_in_template(path)] == []
