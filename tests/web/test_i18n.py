"""Dutch first: the interface's language follows the user, then the browser, else Dutch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from webapp.extensions import db
from webapp.models import User


def anonymous(app: Flask, language: str | None) -> FlaskClient:
    client = app.test_client()
    if language is None:
        client.environ_base.pop("HTTP_ACCEPT_LANGUAGE", None)
    else:
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    return client


def test_without_a_preference_the_interface_is_dutch(app: Flask, dutch: None) -> None:
    page = anonymous(app, None).get("/login").text
    assert '<html lang="nl">' in page
    assert "Inloggen" in page and "Wachtwoord" in page
    assert ">Log in<" not in page


def test_the_browser_may_ask_for_english(app: Flask, dutch: None) -> None:
    page = anonymous(app, "en-GB,en;q=0.9,nl;q=0.5").get("/login").text
    assert '<html lang="en">' in page
    assert "Password" in page and "Wachtwoord" not in page
    # A language the product does not have falls back to Dutch.
    assert '<html lang="nl">' in anonymous(app, "fr-FR,de;q=0.8").get("/login").text


def test_error_pages_speak_the_reader_s_language(app: Flask, dutch: None) -> None:
    dutch_page = anonymous(app, "nl").get("/no-such-page")
    assert dutch_page.status_code == 404
    assert "Niet gevonden" in dutch_page.text and "Deze pagina bestaat niet" in dutch_page.text
    english = anonymous(app, "en").get("/no-such-page")
    assert "Not found" in english.text


def test_a_user_s_own_choice_wins_over_the_browser(
    app: Flask, dutch: None, login_as: Callable[[str], Any]
) -> None:
    client = login_as("marketer")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "nl"
    assert "Overzicht" in client.get("/").text

    chosen = client.post(
        "/account/language", data={"csrf_token": client.csrf, "locale": "en", "next": "/leads/"}
    )
    assert chosen.status_code == 302
    assert chosen.headers["Location"] == "/leads/"
    page = client.get("/").text
    assert '<html lang="en">' in page and "Overview" in page
    db.session.expire_all()
    user = db.session.execute(db.select(User).where(User.role == "marketer")).scalar_one()
    assert user.locale == "en"

    # The switch back is offered in the other language's own name.
    assert ">Nederlands</button>" in page
    client.post("/account/language", data={"csrf_token": client.csrf, "locale": "nl"})
    assert '<html lang="nl">' in client.get("/").text


def test_an_unknown_language_is_refused_with_the_field(
    app: Flask, login_as: Callable[[str], Any]
) -> None:
    client = login_as("marketer")
    response = client.post("/account/language", data={"csrf_token": client.csrf, "locale": "xx"})
    assert response.status_code == 422
    assert "locale" in response.text


def test_numbers_and_dates_follow_the_language(app: Flask) -> None:
    from datetime import UTC, datetime

    from flask_babel import refresh

    from webapp.formats import decimal, local_time, percent, thousands

    moment = datetime(2026, 12, 2, 12, 20, tzinfo=UTC)  # 13:20 in Amsterdam
    figures = {
        "nl": ["12.345", "1.234,5", "28,57%", "02-12-2026 13:20"],
        "en": ["12,345", "1,234.5", "28.57%", "Dec 2, 2026 1:20\u202fPM"],
    }
    for language, expected in figures.items():
        with app.test_request_context(headers={"Accept-Language": language}):
            refresh()  # as every request does first
            shown = [thousands(12345), decimal(1234.5), percent(28.571), local_time(moment)]
            assert shown == expected


def test_a_page_a_role_may_not_use_says_why_in_the_reader_s_language(
    app: Flask, dutch: None, login_as: Callable[[str], Any]
) -> None:
    refused = login_as("manager").get("/campaigns/new")
    assert refused.status_code == 403
    assert "Niet toegestaan" in refused.text
    assert "Als manager kun je hier alles lezen" in refused.text
    assert "As a manager" not in refused.text
