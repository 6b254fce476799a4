"""Security headers on every dashboard answer: pages, fragments, errors, the API, and the
public pages email clients reach (README "Security")."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_campaign, make_lead, make_message, make_template
from tests.web.test_access import rules
from webapp.config import ROOT
from webapp.extensions import db
from webapp.services.domains import seed_default_domains
from webapp.services.tracking import links as mail_links


def _directives(response: Any) -> dict[str, str]:
    policy = response.headers.get("Content-Security-Policy", "")
    parts = (part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    return {part[0]: part[1] if len(part) > 1 else "" for part in parts}


def assert_security_headers(response: Any, where: str, *, authenticated: bool) -> None:
    csp = _directives(response)
    assert csp.get("script-src") == "'self'", where  # no inline script, no eval
    assert csp.get("default-src") == "'self'", where
    assert csp.get("object-src") == "'none'", where
    assert csp.get("frame-ancestors") == "'none'", where
    assert response.headers.get("X-Frame-Options") == "DENY", where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy"), where
    if authenticated:
        assert response.headers.get("Cache-Control") == "no-store", where


def test_every_dashboard_page_and_fragment_carries_the_headers(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    seed_default_domains()
    db.session.commit()
    client = login_as("admin")
    checked = 0
    for endpoint, _method, url in rules(app, api=False, methods=("GET",)):
        for headers in ({}, {"HX-Request": "true"}):
            response = client.get(url, headers=headers)
            assert response.status_code < 500, endpoint
            assert_security_headers(response, f"{endpoint} {headers}", authenticated=True)
            checked += 1
    assert checked > 40


def test_real_pages_with_data_carry_the_headers(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    lead = make_lead()
    template = make_template()
    campaign = make_campaign(template_id=template.id)
    db.session.commit()
    client = login_as("admin")
    for url in (
        "/",
        f"/leads/{lead.id}",
        f"/templates/{template.id}",
        f"/campaigns/{campaign.id}",
        "/campaigns/no-such-campaign",  # an error page
    ):
        response = client.get(url)
        assert response.status_code in (200, 404), url
        assert_security_headers(response, url, authenticated=True)


def test_only_a_page_that_shows_a_mail_allows_inline_styles(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    template = make_template()
    db.session.commit()
    client = login_as("admin")
    editor = _directives(client.get(f"/templates/{template.id}"))
    assert "'unsafe-inline'" in editor["style-src"]
    assert editor["img-src"] == "data:"  # no remote image, no pixel, from a previewed mail
    assert _directives(client.get("/"))["style-src"] == "'self'"


def test_the_api_answers_are_not_stored(app: Flask, api_client: Callable[[str], Any]) -> None:
    client, headers = api_client("manager")
    response = client.get("/api/v1/me", headers=headers)
    assert_security_headers(response, "api", authenticated=True)


def test_public_pages_carry_the_headers_and_no_login_pages_need_no_store(
    app: Flask, client: FlaskClient
) -> None:
    login = client.get("/login")
    assert_security_headers(login, "login", authenticated=False)
    message = make_message(
        make_campaign(status="running"), make_lead(), status="sent", sent_at=datetime.now(UTC)
    )
    db.session.commit()
    unsubscribe = client.get(
        mail_links.unsubscribe_url(message.id).removeprefix("http://campaigns.test")
    )
    assert unsubscribe.status_code == 200
    assert_security_headers(unsubscribe, "unsubscribe", authenticated=False)
    assert_security_headers(client.get("/u/nonsense"), "bad token", authenticated=False)
    static = client.get("/static/app.js")
    assert static.headers.get("X-Content-Type-Options") == "nosniff"
    assert static.headers.get("Cache-Control") != "no-store"  # static files stay cacheable


def test_no_template_carries_inline_script_or_styles() -> None:
    """The policy refuses them; a template that has one breaks silently in the browser.

    System mail templates are mails, not pages: mail clients want inline styles, and the
    outbox shows them in a sandboxed frame that allows styles but never scripts."""
    offenders = []
    for path in Path(ROOT, "templates").rglob("*.html"):
        text = path.read_text()
        patterns = [r"<script(?![^>]*\bsrc=)", r"\son[a-z]+\s*="]
        if path.parent.name != "system_mail":
            patterns += [r"\sstyle\s*=", r"<style"]
        for pattern in patterns:
            if re.search(pattern, text):
                offenders.append(f"{path.relative_to(ROOT)}: {pattern}")
    assert offenders == []
