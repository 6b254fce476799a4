"""A marketer in a real browser: from a list of leads to a running campaign."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.conftest import PASSWORD
from tests.factories import make_lead, make_template
from webapp.extensions import db
from webapp.models import Campaign
from webapp.services.domains import seed_default_domains

pytestmark = pytest.mark.browser


def test_from_a_list_to_a_running_campaign(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any]
) -> None:
    seed_default_domains()
    template = make_template(steps=3, name="Kennismaking in drie stappen")
    first = [make_lead(list_name="mkb-utrecht") for _ in range(6)]
    # Two more people at the first company: one_per_domain keeps only the earliest.
    for name in ("jan", "piet"):
        make_lead(
            list_name="mkb-utrecht", domain=first[0].domain, email=f"{name}@{first[0].domain}"
        )
    make_lead(list_name="mkb-utrecht", vars={"company": " ", "url": "https://leeg.nl"})
    make_lead(list_name="horeca-amsterdam")
    user = make_user("marketer")
    db.session.commit()

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")

    page.get_by_role("link", name="Campaigns", exact=True).click()
    page.locator("#new-campaign").click()

    # Name: the server refuses an empty one, next to the field.
    page.get_by_role("button", name="Next: Template").click()
    assert page.locator("#name-error").is_visible()
    page.locator("#field-name").fill("Voorjaar mkb Utrecht")
    page.get_by_role("button", name="Next: Template").click()

    # Template, with its steps previewed.
    option = page.locator("article.template-option", has_text=template.name)
    option.get_by_label(template.name).check()
    option.locator("summary").click()
    assert option.get_by_text("Mail 3 voor [company]").is_visible()
    page.get_by_role("button", name="Next: Audience").click()

    # Audience: the funnel follows every switch without a page load.
    page.get_by_label("mkb-utrecht").check()
    funnel = page.locator("#funnel-selected")
    funnel.get_by_text("8").wait_for()
    assert page.locator("#funnel-total").inner_text() == "9"
    assert page.locator("#funnel-incomplete").inner_text() == "1"
    page.locator("#field-one_per_domain").check()
    funnel.get_by_text("6").wait_for()
    assert page.locator("#funnel-duplicate-domain").inner_text() == "2"
    page.locator("#field-only_complete").uncheck()
    funnel.get_by_text("7").wait_for()
    assert page.locator("#audience-sample").get_by_text("company", exact=True).is_visible()
    page.locator("#field-only_complete").check()
    funnel.get_by_text("6").wait_for()
    page.get_by_role("button", name="Next: Schedule").click()

    # Schedule; going back keeps what was entered.
    page.locator("#field-followup_days").fill("2")
    page.get_by_role("button", name="Back").click()
    assert page.locator("#field-one_per_domain").is_checked()
    assert page.locator("#funnel-selected").inner_text() == "6"
    page.get_by_role("button", name="Next: Schedule").click()
    assert page.locator("#field-followup_days").input_value() == "2"
    page.get_by_role("button", name="Next: Dry run").click()

    # Dry run: the planner's report and its chart are drawn.
    assert page.locator("#dry-run-total").inner_text() == "18"
    chart = page.locator("svg#dry-run-chart")
    assert chart.is_visible()
    assert chart.locator("rect[data-messages]").count() > 0
    page.get_by_role("button", name="Create campaign").click()

    # The draft, then started.
    page.wait_for_url(f"{live_server}/campaigns/*")
    assert page.locator("[data-status]").first.get_attribute("data-status") == "draft"
    page.locator("#action-start").click()
    page.wait_for_selector('[data-status="running"]')
    assert "Started" in page.locator("#flash").inner_text()
    assert page.locator("#progress-queued").inner_text() == "18"
    assert page.locator("#messages-table tbody tr").count() == 18

    db.session.expire_all()
    campaign = db.session.query(Campaign).one()
    assert (campaign.status, campaign.followup_days) == ("running", 2)
    assert len(campaign.audience.lead_ids) == 6
