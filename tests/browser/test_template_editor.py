"""A marketer writes a two-step template in a real browser and sees the preview follow."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import PASSWORD
from tests.factories import make_lead
from webapp.extensions import db
from webapp.models import Template

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-template-editor.png"


def test_write_a_two_step_template_pick_a_lead_watch_the_preview_and_save(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any]
) -> None:
    user = make_user("marketer")
    make_lead(email="jan@bakkerij-jansen.nl", company="Bakkerij Jansen", vars={"first_name": "Jan"})
    make_lead(email="info@vandijkbouw.nl", company="Van Dijk Bouw", vars={"first_name": "Els"})
    db.session.commit()

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")
    page.get_by_role("link", name="Templates").click()
    page.locator("#new-template").click()
    page.wait_for_url(f"{live_server}/templates/new")

    page.get_by_label("Name").fill("Kennismaking")
    page.locator('[name="steps-1-subject"]').fill("Vraag voor {{ company }}")
    page.locator('[name="steps-1-body_html"]').fill("<p>Beste {{ first_name }},</p>")
    # Stand-in values until a lead is picked.
    expect_text(page, "#preview-subject", "Vraag voor [company]")

    page.locator("#lead-search").fill("dijk")
    expect_text(page, "#preview-subject", "Vraag voor Van Dijk Bouw")
    frame = page.frame_locator("#preview-html")
    assert frame.locator("p").first.inner_text() == "Beste Els,"

    # Typing updates the preview (debounced).
    page.locator('[name="steps-1-body_html"]').fill("<p>Beste {{ first_name }}, een vraag.</p>")
    page.wait_for_function(
        "() => document.querySelector('#preview-text')?.textContent"
        ".startsWith('Beste Els, een vraag.')"
    )

    page.locator("#add-step").click()
    page.locator('[name="steps-2-body_html"]').fill("<p>Nog even, {{ first_name }}.</p>")
    page.locator("#preview-mail").select_option("2")
    expect_text(page, "#preview-subject", "Re: Vraag voor Van Dijk Bouw")
    assert page.locator("#template-variables").inner_text().split() == ["company", "first_name"]
    # The screenshot in docs/ is this page; refresh it on request only, so tests leave the
    # working tree as they found it.
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.locator("#save-template").click()
    page.wait_for_url(f"{live_server}/templates/*")
    assert "Saved Kennismaking." in page.locator("#flash").inner_text()
    db.session.expire_all()
    template = db.session.execute(db.select(Template)).scalar_one()
    assert [(s.mail_number, s.subject) for s in template.steps] == [
        (1, "Vraag voor {{ company }}"),
        (2, ""),
    ]


def expect_text(page: Any, selector: str, text: str) -> None:
    page.wait_for_function(
        "([selector, text]) => document.querySelector(selector)?.textContent.trim() === text",
        arg=[selector, text],
    )
