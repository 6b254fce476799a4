"""The suppression page and API: add addresses and domains, search, remove (admins, recorded)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_campaign, make_lead, make_message
from webapp.extensions import db
from webapp.models import AuditEvent, Lead, Suppression
from webapp.services.leads.suppressions import is_suppressed


def suppress_domain(client: FlaskClient, domain: str, **extra: str) -> Any:
    data = {"kind": "domain", "value": domain, "reason": "manual", **extra}
    data["csrf_token"] = client.csrf  # type: ignore[attr-defined]
    return client.post("/suppressions/", data=data, headers={"HX-Request": "true"})


def test_suppressing_a_domain_suppresses_its_leads_and_cancels_their_mail(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    lead = make_lead(email="jan@weg.nl", domain="weg.nl")
    keep = make_lead(email="piet@blijft.nl")
    queued = make_message(make_campaign(), lead)
    db.session.commit()
    client = login_as("marketer")
    response = suppress_domain(client, "WWW.Weg.nl", confirm="yes")
    assert response.status_code == 200 and "Suppressed weg.nl" in response.text
    db.session.expire_all()
    assert (lead.status, keep.status, queued.status) == ("suppressed", "active", "canceled")
    assert is_suppressed("iemand@weg.nl") and not is_suppressed("iemand@blijft.nl")
    assert is_suppressed("info@gmail.com", "weg.nl")
    search = client.get("/suppressions/?q=weg", headers={"HX-Request": "true"})
    assert "weg.nl" in search.text


def test_a_domain_is_suppressed_only_after_confirming_how_many_leads_it_reaches(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    leads = [make_lead(email=f"{name}@gmail.com", domain="gmail.com") for name in ("an", "bo")]
    make_lead(email="cor@gmail.com", domain="gmail.com", status="suppressed")
    make_message(make_campaign(), leads[0])
    db.session.commit()
    client = login_as("marketer")

    asked = suppress_domain(client, "Gmail.com", note="spam trap")

    assert asked.status_code == 200
    assert 'id="suppression-confirm"' in asked.text
    impact = re.sub(r"<[^>]+>", "", re.search(r'id="suppression-impact">(.*?)</p>', asked.text)[1])
    assert impact.startswith(
        "This suppresses 2 leads of domain gmail.com (a free-mail provider: these are people "
        "at many companies). It also cancels 1 queued mail."
    )
    assert 'name="confirm" value="yes"' in asked.text and 'value="spam trap"' in asked.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0
    db.session.expire_all()
    assert {lead.status for lead in leads} == {"active"}

    done = suppress_domain(client, "gmail.com", confirm="yes", note="spam trap")

    assert "Suppressed gmail.com" in done.text and 'id="suppression-confirm"' not in done.text
    db.session.expire_all()
    assert {lead.status for lead in leads} == {"suppressed"}
    again = suppress_domain(client, "gmail.com")
    assert "gmail.com was already suppressed" in again.text


def test_invalid_input_is_refused_naming_the_field(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    response = client.post(
        "/suppressions/",
        data={"csrf_token": client.csrf, "kind": "email", "value": "geen-adres", "reason": "x"},
    )
    assert response.status_code == 422
    assert "@-sign" in response.text and "reason" in response.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0


def test_only_admins_remove_and_the_removal_is_recorded(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    lead = make_lead(email="terug@bedrijf.nl", status="suppressed")
    suppression = Suppression(email="terug@bedrijf.nl", reason="manual")
    db.session.add(suppression)
    db.session.commit()
    marketer = login_as("marketer")
    url = f"/suppressions/{suppression.id}/delete"
    assert marketer.post(url, data={"csrf_token": marketer.csrf}).status_code == 403
    admin = login_as("admin")
    assert admin.post(url, data={"csrf_token": admin.csrf}).status_code == 200
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) == 0
    event = db.session.scalars(sa.select(AuditEvent)).one()
    assert (event.action, event.user_id) == ("suppression.removed", admin.user.id)
    assert event.details["email"] == "terug@bedrijf.nl"
    assert db.session.get(Lead, lead.id).status == "active"


def test_api_adds_lists_and_removes_suppressions(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    client, headers = api_client("marketer")
    created = client.post(
        "/api/v1/suppressions",
        json={"email": "Klacht@Bedrijf.nl", "reason": "complaint"},
        headers=headers,
    )
    assert created.status_code == 201
    assert (created.json["email"], created.json["reason"]) == ("klacht@bedrijf.nl", "complaint")
    again = client.post(
        "/api/v1/suppressions", json={"email": "klacht@bedrijf.nl"}, headers=headers
    )
    assert again.status_code == 200
    both = client.post(
        "/api/v1/suppressions", json={"email": "a@b.nl", "domain": "b.nl"}, headers=headers
    )
    assert both.status_code == 422 and "email" in both.json["error"]["fields"]
    # Scripts mean what they send: a domain, even a free-mail one, needs no confirming.
    domain = client.post("/api/v1/suppressions", json={"domain": "gmail.com"}, headers=headers)
    assert domain.status_code == 201 and domain.json["domain"] == "gmail.com"
    listed = client.get("/api/v1/suppressions?q=klacht", headers=headers).json
    assert listed["total"] == 1
    sid = created.json["id"]
    assert client.delete(f"/api/v1/suppressions/{sid}", headers=headers).status_code == 403
    admin, admin_headers = api_client("admin")
    assert admin.delete(f"/api/v1/suppressions/{sid}", headers=admin_headers).status_code == 200


def test_the_suppression_page_speaks_dutch(
    app: Flask, dutch: None, login_as: Callable[[str], FlaskClient]
) -> None:
    make_lead(email="an@gmail.com", domain="gmail.com")
    db.session.add(Suppression(email="weg@bedrijf.nl", reason="hard_bounce"))
    db.session.commit()
    client = login_as("marketer")

    page = client.get("/suppressions/").text
    assert '<html lang="nl">' in page and "<h1>Uitsluitingen</h1>" in page
    assert "Heel domein" in page and ">handmatig</option>" in page
    assert 'data-reason="hard_bounce">harde bounce<' in page and "1 uitsluiting" in page

    asked = suppress_domain(client, "gmail.com")
    impact = re.sub(r"<[^>]+>", "", re.search(r'id="suppression-impact">(.*?)</p>', asked.text)[1])
    assert impact == (
        "Hiermee sluit je 1 lead van domein gmail.com uit (een gratis maildienst: dit zijn "
        "mensen bij veel verschillende bedrijven). "
        "Elke latere lead op dit domein wordt ook uitgesloten."
    )
    assert "gmail.com uitsluiten" in asked.text

    done = suppress_domain(client, "gmail.com", confirm="yes")
    assert "gmail.com is uitgesloten." in done.text

    refused = client.post(
        "/suppressions/",
        data={"csrf_token": client.csrf, "kind": "email", "value": "geen-adres", "reason": "x"},
        headers={"HX-Request": "true"},
    )
    assert refused.status_code == 422 and "Adres of domein: " in refused.text


def test_the_suppression_templates_leave_no_text_untranslated() -> None:
    from tests.support.untranslated import ROOT, untranslated_in_python, untranslated_in_template

    templates = sorted((ROOT / "templates" / "suppressions").glob("*.html"))
    routes = sorted((ROOT / "webapp" / "web" / "suppressions").glob("*.py"))
    assert templates and routes
    found = [text for path in templates for text in untranslated_in_template(path)]
    found += [text for path in routes for text in untranslated_in_python(path)]
    assert found == []
