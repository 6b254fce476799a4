"""A large start shows its progress on the campaign page, which reloads itself once done."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.conftest import PASSWORD
from tests.factories import make_lead, make_template
from tests.web.test_campaign_actions import planning_held
from webapp.database import utcnow
from webapp.extensions import db
from webapp.services.campaigns import create_campaign
from webapp.services.domains import seed_default_domains

pytestmark = pytest.mark.browser


def test_the_campaign_page_shows_a_start_under_way_and_reloads_when_it_is_done(
    app: Flask,
    live_server: str,
    page: Any,
    make_user: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "CAMPAIGN_BACKGROUND_MESSAGES", 0)
    seed_default_domains()
    template = make_template(steps=2)
    for _ in range(6):
        make_lead(list_name="mkb")
    campaign = create_campaign(
        {
            "name": "Zichtbaar",
            "template_id": template.id,
            "audience": {"list_names": ["mkb"]},
            "followup_enabled": True,
            "followup_days": 2,
        },
        None,
        utcnow(),
    )
    user = make_user("marketer")
    db.session.commit()

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/campaigns/{campaign.id}")
    with planning_held():
        page.locator("#action-start").click()
        page.locator("#flash").get_by_text("its 12 messages are being planned").wait_for()
        pending = page.locator("#campaign-pending")
        pending.get_by_text("Working on 12 messages").wait_for()
        assert page.locator("#action-start").count() == 0
        assert page.locator(f"#campaign-{campaign.id}-status").get_attribute("data-pending") == (
            "start"
        )
    # Done: the page reloads itself and shows the campaign running.
    page.locator(f"#campaign-{campaign.id}-status[data-status='running']").wait_for(timeout=30_000)
    assert page.locator("#campaign-pending").count() == 0
