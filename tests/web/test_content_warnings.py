"""Content warnings in the dry run: the API's `content_warnings`, the campaign's dry-run
fragment and the new-campaign wizard's last step. They warn; the start still happens."""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_campaign, make_lead, make_template
from tests.support.dry_runs import calculated
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Campaign, CampaignAudience, Template
from webapp.services.domains import seed_default_domains

SPAMMY_SUBJECT = "Klik hier voor 100% gratis advies"
SHORT_LINK = '<p>Hallo {{ company }}, <a href="https://bit.ly/3abc">bekijk dit</a>.</p>'


def spammy_template() -> Template:
    """Mail 1 with a spam phrase, a shortened link and no text part; mail 2 clean but for
    its missing unsubscribe line."""
    template = make_template(steps=2, name="Schreeuwerig")
    first, second = sorted(template.steps, key=lambda s: s.mail_number)
    first.subject, first.body_html, first.body_text = SPAMMY_SUBJECT, SHORT_LINK, ""
    second.body_html = "<p>Hallo {{ company }}, nog even over mijn vorige mail.</p>"
    second.body_text = "Hallo {{ company }}, nog even over mijn vorige mail."
    return template


@pytest.fixture
def campaign(app: Flask) -> Campaign:
    seed_default_domains()
    made = make_campaign(template_id=spammy_template().id, followup_enabled=True)
    made.audience = CampaignAudience(lead_ids=[make_lead().id for _ in range(3)])
    db.session.commit()
    return made


def test_the_api_dry_run_lists_content_warnings_per_mail(
    api_client: Any, campaign: Campaign
) -> None:
    client, headers = api_client("manager")
    report = client.get(f"/api/v1/campaigns/{campaign.id}/dry-run", headers=headers).get_json()
    found = {(w["mail_number"], w["code"]) for w in report["content_warnings"]}
    assert found == {
        (1, "spam_phrases"),
        (1, "url_shortener"),
        (1, "no_text_part"),
        (1, "no_unsubscribe_line"),
        (2, "no_unsubscribe_line"),
    }
    assert all(
        set(w) == {"mail_number", "variant", "code", "message"} and w["variant"] is None
        for w in report["content_warnings"]
    )
    spam = next(w for w in report["content_warnings"] if w["code"] == "spam_phrases")
    assert "klik hier" in spam["message"] and "100% gratis" in spam["message"]


def test_with_follow_ups_off_only_mail_one_is_checked(api_client: Any, campaign: Campaign) -> None:
    campaign.followup_enabled = False
    db.session.commit()
    client, headers = api_client("manager")
    report = client.get(f"/api/v1/campaigns/{campaign.id}/dry-run", headers=headers).get_json()
    assert {w["mail_number"] for w in report["content_warnings"]} == {1}


def test_a_clean_template_has_no_content_warnings(api_client: Any, app: Flask) -> None:
    seed_default_domains()
    template = make_template(steps=1)
    (only,) = template.steps
    only.body_html = '<p>Hallo {{ company }}</p><p><a href="{{ unsubscribe_url }}">Afmelden</a></p>'
    only.body_text = "Hallo {{ company }}\n\nAfmelden: {{ unsubscribe_url }}"
    made = make_campaign(template_id=template.id)
    made.audience = CampaignAudience(lead_ids=[make_lead().id])
    db.session.commit()
    client, headers = api_client("manager")
    report = client.get(f"/api/v1/campaigns/{made.id}/dry-run", headers=headers).get_json()
    assert report["content_warnings"] == []


def test_the_dry_run_fragment_shows_them_in_dutch(
    app: Flask, dutch: None, login_as: Callable[[str], FlaskClient], campaign: Campaign
) -> None:
    fragment = calculated(
        login_as("marketer"),
        f"/planning/campaigns/{campaign.id}/dry-run",
        headers={"HX-Request": "true"},
    ).text
    text = html.unescape(fragment)
    assert 'id="content-warnings"' in fragment
    assert 'data-code="url_shortener" data-mail-number="1"' in fragment
    assert 'data-code="no_unsubscribe_line" data-mail-number="2"' in fragment
    assert "Inhoud van de mails" in text and "bit.ly" in text
    assert "Geen tekstversie" in text


@pytest.fixture
def experiment(app: Flask) -> Campaign:
    """Mail 1 with variants: A's subject is spammy, B's HTML has a shortened link; neither
    has an unsubscribe line (the base's bodies, which both keep or B replaces)."""
    seed_default_domains()
    template = make_template(steps=1)
    template.steps[0].variants = [
        {"key": "A", "subject": SPAMMY_SUBJECT, "weight": 1},
        {"key": "B", "body_html": SHORT_LINK, "body_text": "Hallo {{ company }}.", "weight": 1},
    ]
    made = make_campaign(template_id=template.id)
    made.audience = CampaignAudience(lead_ids=[make_lead().id])
    db.session.commit()
    return made


def test_each_variant_is_checked_and_its_own_warnings_name_it(
    api_client: Any, experiment: Campaign
) -> None:
    client, headers = api_client("manager")
    report = client.get(f"/api/v1/campaigns/{experiment.id}/dry-run", headers=headers).get_json()
    found = [(w["mail_number"], w["variant"], w["code"]) for w in report["content_warnings"]]
    assert found == [
        (1, None, "no_unsubscribe_line"),  # every variant has it: the step's
        (1, "A", "spam_phrases"),
        (1, "B", "url_shortener"),
    ]


def test_the_dry_run_fragment_names_the_variant_in_dutch(
    app: Flask, dutch: None, login_as: Callable[[str], FlaskClient], experiment: Campaign
) -> None:
    fragment = calculated(
        login_as("marketer"),
        f"/planning/campaigns/{experiment.id}/dry-run",
        headers={"HX-Request": "true"},
    ).text
    assert 'data-code="spam_phrases" data-mail-number="1" data-variant="A"' in fragment
    assert "<strong>Mail 1, variant A:</strong>" in html.unescape(fragment)
    assert "<strong>Mail 1, variant B:</strong>" in html.unescape(fragment)
    assert "<strong>Mail 1:</strong>" in html.unescape(fragment)


def test_the_wizard_shows_them_before_the_draft_is_made_and_does_not_block_it(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    seed_default_domains()
    template = spammy_template()
    for _ in range(2):
        make_lead(list_name="mkb")
    db.session.commit()
    client = login_as("marketer")
    day = (utcnow() + timedelta(days=30)).date()
    state = {
        "name": "Voorjaar",
        "template_id": template.id,
        "list_names": "mkb",
        "start_date": day.isoformat(),
        "start_time": "10:00",
        "followup_days": "3",
    }
    data = {"csrf_token": client.csrf, **state}  # type: ignore[attr-defined]
    page = client.post("/campaigns/new", data={**data, "step": "schedule", "go": "next"})
    assert page.status_code == 200 and 'data-step="dry_run"' in page.text
    assert 'id="content-warnings"' in page.text
    assert 'data-code="spam_phrases" data-mail-number="1"' in page.text
    assert "Words spam filters distrust" in html.unescape(page.text)

    created = client.post("/campaigns/new", data={**data, "step": "dry_run", "go": "create"})
    assert created.status_code == 303
