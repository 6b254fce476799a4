"""What the services say reaches a Dutch reader in Dutch: field errors, refusals, warnings."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_campaign, make_lead, make_template
from tests.support.dry_runs import calculated
from tests.support.untranslated import ROOT, untranslated_in_python
from webapp.extensions import db
from webapp.models import CampaignAudience
from webapp.services.domains import get_domain, seed_default_domains

V3 = "punthelder-seo.nl"
DOMAIN_FORM = {
    "interval_seconds": "0",
    "window_start": "09:00",
    "window_end": "08:00",
    "timezone": "Europe/Amsterdam",
    "working_days": ["1"],
    "aliases": "christian = Christian",
    "smtp_port": "587",
    "smtp_tls": "starttls",
    "imap_port": "993",
    "imap_folder": "INBOX",
}


def test_a_domain_form_refused_reads_in_dutch(
    dutch: None, app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    seed_default_domains()
    db.session.commit()
    client = login_as("admin")
    data = DOMAIN_FORM | {"csrf_token": client.csrf}  # type: ignore[attr-defined]
    response = client.post(f"/domains/{V3}/edit", data=data)
    assert response.status_code == 422
    text = html.unescape(response.text)
    assert "moet tussen 1 en 86.400 liggen" in text
    assert "moet na de begintijd liggen" in text
    assert "must be between" not in text


def test_a_dry_run_warning_reads_in_dutch(
    dutch: None, app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    seed_default_domains()
    template = make_template(2)
    campaign = make_campaign(template_id=template.id, domain=None, domains=[V3])
    campaign.audience = CampaignAudience(lead_ids=[make_lead().id for _ in range(3)])
    domain = get_domain(V3)
    assert domain is not None
    domain.paused = True
    db.session.commit()
    page = calculated(
        login_as("marketer"),
        f"/planning/campaigns/{campaign.id}/dry-run",
        headers={"HX-Request": "true"},
    )
    text = html.unescape(page.text)
    assert f"{V3} is gepauzeerd: er wordt niets op ingepland." in text
    assert "is paused" not in text


def test_a_second_start_is_refused_in_dutch(
    dutch: None, app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    template = make_template()
    campaign = make_campaign(template_id=template.id, status="running")
    db.session.commit()
    client = login_as("marketer")
    data = {"csrf_token": client.csrf}  # type: ignore[attr-defined]
    page = client.post(f"/campaigns/{campaign.id}/start", data=data, follow_redirects=True)
    text = html.unescape(page.text)
    assert (
        "Deze campagne kan niet starten: de status is lopend; alleen een concept kan worden"
        " gestart." in text
    )


def test_a_template_past_the_render_limits_is_refused_in_dutch(
    dutch: None, app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    data: dict[str, Any] = {
        "csrf_token": client.csrf,  # type: ignore[attr-defined]
        "name": "Te groot",
        "steps-1-subject": "Hoi",
        "steps-1-body_html": "<p>x</p>\n{{ 'x' * 10**9 }}",
        "steps-1-body_text": "",
    }
    saved = client.post("/templates/", data=data)
    assert saved.status_code == 422
    text = html.unescape(saved.text)
    assert "regel 2: te veel werk: tekst herhalen zou meer dan" in text
    assert "tekens opleveren" in text
    preview = client.post(
        "/templates/preview", data=data | {"preview_mail": "1"}, headers={"HX-Request": "true"}
    )
    assert preview.status_code == 422
    assert "HTML-tekst, regel 2: te veel werk:" in html.unescape(preview.text)


def test_an_api_refusal_reads_in_dutch_and_keeps_its_codes(
    dutch: None, app: Flask, api_client: Callable[[str], Any]
) -> None:
    client, headers = api_client("marketer")
    response = client.post("/api/v1/campaigns", headers=headers, json={"name": ""})
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "invalid" and error["message"] == "ongeldige campagne"
    assert error["fields"]["name"] == "geef de campagne een naam"
    assert error["fields"]["template_id"] == "kies een sjabloon"


def test_no_service_or_api_message_bypasses_the_catalog() -> None:
    files = sorted((ROOT / "webapp/services").rglob("*.py"))
    files += sorted((ROOT / "webapp/web").rglob("*.py"))
    files += sorted((ROOT / "webapp/web/api").glob("*.py"))
    files += [ROOT / "webapp/errors.py", ROOT / "webapp/edge.py"]
    found = {str(path.relative_to(ROOT)): untranslated_in_python(path) for path in files}
    assert {name: texts for name, texts in found.items() if texts} == {}
