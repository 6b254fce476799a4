"""A person in a real browser: log in, see the dashboard, log out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import PASSWORD
from webapp.database import utcnow
from webapp.demo.world import seed_demo_world
from webapp.extensions import db

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-dashboard.png"


# What the person reads, in each language the browser may ask for.
WORDS = {
    "nl-NL": {
        "email": "E-mailadres",
        "password": "Wachtwoord",
        "log_in": "Inloggen",
        "wrong": "Onbekend adres of verkeerd wachtwoord.",
        "overview": "Overzicht",
        "leads": "2.088",
        "log_out": "Uitloggen",
        "logged_out": "Je bent uitgelogd.",
        "lang": "nl",
    },
    "en-US": {
        "email": "Email",
        "password": "Password",
        "log_in": "Log in",
        "wrong": "Unknown address or wrong password.",
        "overview": "Overview",
        "leads": "2,088",
        "log_out": "Log out",
        "logged_out": "You are logged out.",
        "lang": "en",
    },
}


@pytest.mark.parametrize("page", list(WORDS), indirect=True)
def test_log_in_see_the_dashboard_and_log_out(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any], tmp_path: Path
) -> None:
    seed_demo_world(utcnow())
    user = make_user("marketer", email="els@punthelder.nl")
    db.session.commit()
    words = WORDS[page.evaluate("navigator.language")]

    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/login")
    assert page.locator("html").get_attribute("lang") == words["lang"]
    page.get_by_label(words["email"]).fill(user.email)
    page.get_by_label(words["password"]).fill("wrong password!")
    page.get_by_role("button", name=words["log_in"]).click()
    assert page.get_by_role("alert").inner_text() == words["wrong"]

    page.get_by_label(words["password"]).fill(PASSWORD)
    page.get_by_role("button", name=words["log_in"]).click()
    page.wait_for_url(f"{live_server}/")
    assert page.get_by_role("heading", name=words["overview"]).is_visible()
    assert words["leads"] in page.locator("#overview-counts").inner_text()

    # The screenshot in the README is this page, in Dutch; refresh it on request.
    dutch = words["lang"] == "nl"
    target = SCREENSHOT if dutch and _refresh_screenshot() else tmp_path / "dashboard.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000

    page.locator("summary", has_text=user.email).click()
    page.get_by_role("button", name=words["log_out"]).click()
    page.wait_for_url(f"{live_server}/login")
    assert page.get_by_text(words["logged_out"]).is_visible()
    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/login")


def _refresh_screenshot() -> bool:
    import os

    return os.environ.get("UPDATE_SCREENSHOTS") == "1"
