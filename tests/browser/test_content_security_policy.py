"""What moved out of the markup for the Content-Security-Policy still works in a browser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.conftest import PASSWORD
from tests.factories import make_campaign
from webapp.extensions import db
from webapp.models import Campaign
from webapp.services.domains import seed_default_domains

pytestmark = pytest.mark.browser


def test_stopping_a_campaign_asks_first_and_a_no_changes_nothing(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any]
) -> None:
    seed_default_domains()
    user = make_user("marketer")
    campaign = make_campaign(status="running")
    db.session.commit()
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/campaigns/{campaign.id}")

    questions: list[str] = []

    def answer(dialog: Any, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.locator("#action-stop").click()
    assert questions and questions[0].startswith("Stop this campaign?")
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).status == "running"

    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    page.locator("#action-stop").click()
    page.wait_for_selector('[data-status="stopped"]')
    assert len(questions) == 2
    assert violations == []
