"""The leads list in a real browser: filter, sort and page in place, then go back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.conftest import PASSWORD
from tests.factories import make_lead
from webapp.extensions import db

pytestmark = pytest.mark.browser

RESULT_AREAS = "document.querySelectorAll('#lead-results').length"
NAVIGATIONS = "document.querySelectorAll('header.app-header').length"


def wait_for_page(page: Any, first_email: str) -> None:
    """Until the list's first row is this lead's (pages are read by position, not number)."""
    page.wait_for_function(
        "text => document.querySelector('#leads-table tbody tr')?.innerText.includes(text)",
        arg=first_email,
    )


def test_filter_sort_and_page_keep_one_result_area_and_back_restores_the_page(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any]
) -> None:
    for n in range(60):
        make_lead(email=f"info{n:02}@noord-{n:02}.nl", list_name="noord")
    make_lead(email="info@zuid.nl", list_name="zuid")
    user = make_user("marketer")
    db.session.commit()

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/leads/")
    assert page.evaluate(RESULT_AREAS) == 1

    page.get_by_label("List", exact=True).select_option("noord")
    page.wait_for_function("() => document.querySelector('#lead-total').innerText === '60'")
    assert page.evaluate(RESULT_AREAS) == 1

    page.locator("#leads-table th a", has_text="E-mail").click()
    page.wait_for_function(
        "() => document.querySelector('#leads-table th a').innerText.includes('▲')"
    )
    assert page.evaluate(RESULT_AREAS) == 1
    first_row = page.locator("#leads-table tbody tr").first
    assert "info00@noord-00.nl" in first_row.inner_text()

    for link, first_email in (
        ("next", "info50@noord-50.nl"),
        ("previous", "info00@noord-00.nl"),
        ("next", "info50@noord-50.nl"),
    ):
        page.locator(f"#leads-{link}").click()
        wait_for_page(page, first_email)
        assert page.evaluate(RESULT_AREAS) == 1
    assert "info50@noord-50.nl" in first_row.inner_text()
    assert "cursor=" in page.url and "list_name=noord" in page.url

    # With nothing cached, going back makes htmx ask the server for the page and put the
    # answer in <body>: it must come back whole, with the navigation and one result area.
    page.evaluate("htmx.config.historyCacheSize = 0; sessionStorage.clear()")
    with page.expect_response(
        lambda r: r.request.headers.get("hx-history-restore-request") == "true"
    ) as restore:
        page.go_back()
    assert restore.value.status == 200
    wait_for_page(page, "info00@noord-00.nl")
    assert page.evaluate(NAVIGATIONS) == 1
    assert page.evaluate(RESULT_AREAS) == 1
    assert "info00@noord-00.nl" in first_row.inner_text()
    assert page.locator("#lead-filters select[name=list_name]").input_value() == "noord"
