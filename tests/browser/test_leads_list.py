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


def wait_for_page(page: Any, number: int, of: int) -> None:
    page.wait_for_function(
        "text => document.querySelector('.pagination span')?.innerText === text",
        arg=f"Page {number} of {of}",
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

    for link, number in (("next", 2), ("previous", 1), ("next", 2)):
        page.locator(f"#leads-{link}").click()
        wait_for_page(page, number, 2)
        assert page.evaluate(RESULT_AREAS) == 1
    assert "info50@noord-50.nl" in first_row.inner_text()
    assert "page=2" in page.url and "list_name=noord" in page.url

    # With nothing cached, going back makes htmx ask the server for the page and put the
    # answer in <body>: it must come back whole, with the navigation and one result area.
    page.evaluate("htmx.config.historyCacheSize = 0; sessionStorage.clear()")
    with page.expect_response(
        lambda r: r.request.headers.get("hx-history-restore-request") == "true"
    ) as restore:
        page.go_back()
    assert restore.value.status == 200
    wait_for_page(page, 1, 2)
    assert page.evaluate(NAVIGATIONS) == 1
    assert page.evaluate(RESULT_AREAS) == 1
    assert "info00@noord-00.nl" in first_row.inner_text()
    assert page.locator("#lead-filters select[name=list_name]").input_value() == "noord"
