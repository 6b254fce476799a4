"""A marketer sets up an A/B test of a mail in the template editor, then reads the campaign's
experiment and declares the winner, in a real browser."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask

from tests.conftest import PASSWORD
from tests.factories import make_campaign, make_event, make_lead, make_message, make_template
from webapp.extensions import db
from webapp.models import Campaign, MessageStatus, Template

pytestmark = pytest.mark.browser

SENT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _seed(campaign: Campaign, key: str, sent: int, replied: int, opened: int, queued: int) -> None:
    """`sent` sent mails of variant `key` (the first `replied` replied, the first `opened`
    opened by a person) and `queued` still queued."""
    for index in range(sent + queued):
        is_sent = index < sent
        message = make_message(
            campaign,
            make_lead(),
            variant=key,
            status=MessageStatus.SENT if is_sent else MessageStatus.QUEUED,
            sent_at=SENT_AT if is_sent else None,
        )
        if not is_sent:
            continue
        if index < replied:
            make_event(message, "replied")
        if index < opened:
            message.open_at = SENT_AT
            make_event(message, "opened", meta={"machine": False})


def _cell(page: Any, n: int, key: str, column: int) -> str:
    row = page.locator(f'#experiment-{n}-table tr[data-variant="{key}"]')
    return str(row.locator("td").nth(column).inner_text()).strip()


def test_variants_are_written_previewed_read_and_a_winner_declared(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any]
) -> None:
    user = make_user("marketer")
    template = make_template(name="Kennismaking")
    make_lead(email="info@vandijkbouw.nl", company="Van Dijk Bouw")
    db.session.commit()

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/templates/{template.id}")

    # The first click makes an experiment of two: variants A and B.
    page.locator("#add-variant-1").click()
    page.locator("#step-1-variant-B").wait_for()
    page.locator('[name="steps-1-variants-A-subject"]').fill("Vraag over {{ company }}")
    page.locator('[name="steps-1-variants-B-subject"]').fill("{Idee|Voorstel} voor {{ company }}")
    page.locator('[name="steps-1-variants-B-weight"]').fill("3")
    page.locator("#save-template").click()
    page.wait_for_url(f"{live_server}/templates/{template.id}")
    assert "Saved Kennismaking." in page.locator("#flash").inner_text()
    db.session.expire_all()
    saved = db.session.get(Template, template.id)
    assert saved is not None
    assert saved.steps[0].variants == [
        {"key": "A", "subject": "Vraag over {{ company }}", "weight": 1},
        {"key": "B", "subject": "{Idee|Voorstel} voor {{ company }}", "weight": 3},
    ]

    # The preview shows each variant for a real lead, and each spintax version of it.
    page.locator("#lead-search").fill("dijk")
    page.locator("#preview-variant").select_option("A")
    expect_text(page, "#preview-subject", "Vraag over Van Dijk Bouw")
    page.locator("#preview-variant").select_option("B")
    page.locator("#preview-version").fill("1")
    expect_text(page, "#preview-versions", "2 versions Showing version 1.")
    assert page.locator("#preview-subject").inner_text() == "Idee voor Van Dijk Bouw"
    page.locator("#preview-version").fill("2")
    expect_text(page, "#preview-versions", "2 versions Showing version 2.")
    assert page.locator("#preview-subject").inner_text() == "Voorstel voor Van Dijk Bouw"

    # A running campaign on the template, with sends, opens and replies for both variants.
    campaign = make_campaign(template_id=template.id, status="running", name="Voorjaar")
    _seed(campaign, "A", sent=120, replied=3, opened=20, queued=5)
    _seed(campaign, "B", sent=130, replied=15, opened=25, queued=7)
    db.session.commit()

    page.goto(f"{live_server}/campaigns/{campaign.id}")
    page.locator("#experiment-1-table").wait_for()
    # Columns: sent, opened by a person, clicked, replied, bounced, unsubscribed, rate, ...
    assert [_cell(page, 1, "A", i) for i in (0, 1, 3)] == ["120", "20", "3"]
    assert [_cell(page, 1, "B", i) for i in (0, 1, 3)] == ["130", "25", "15"]
    assert _cell(page, 1, "B", 6) == "11.5%"
    verdict = page.locator("#experiment-1-verdict").inner_text()
    assert verdict.startswith("B is best with") and "probability" in verdict
    chart = page.locator("#experiment-1-chart")
    assert chart.is_visible()
    assert chart.locator(".experiment-bar").count() == 2
    assert chart.locator(".chart-whisker").count() == 2

    # Declaring asks first; the section then shows the winner and no more buttons.
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#winner-1-B").click()
    expect_text(page, "#experiment-1-verdict", "Winner: variant B. Its queued mail is sent as B.")
    assert page.locator("#winner-1-A").count() == 0
    assert "winner" in page.locator('#experiment-1-table tr[data-variant="B"] th').inner_text()
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).variant_winners == {"1": "B"}  # type: ignore[union-attr]


def expect_text(page: Any, selector: str, text: str) -> None:
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.textContent.trim() === text",
        arg=[selector, text],
    )
