"""A marketer imports a Dutch Excel export in a real browser, finds a lead and stops it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import PASSWORD
from webapp.extensions import db
from webapp.models import Lead

pytestmark = pytest.mark.browser

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "imports" / "cp1252_semicolon.csv"


def test_upload_preview_import_search_and_stop(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any]
) -> None:
    user = make_user("marketer")
    db.session.commit()
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")

    page.get_by_role("link", name="Leads", exact=True).click()
    page.get_by_role("link", name="Import leads").click()
    page.locator("#import-file").set_input_files(str(FIXTURE))
    page.locator("#import-preview-button").click()

    # The preview: detected encoding and delimiter, the mapping and the first rows.
    sample = page.locator("#import-sample")
    sample.wait_for()
    assert page.locator("#import-encoding").input_value() == "cp1252"
    assert page.locator("#import-delimiter").input_value() == "semicolon"
    assert "Café De Zwaan" in sample.inner_text()
    assert "Groenteboer Müller" in sample.inner_text()
    assert page.locator("select[name=map_0]").input_value() == "email"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lead)) == 0

    # Plaats is recognised as the city; skipping it re-renders the sample as imported.
    assert page.locator("select[name=map_3]").input_value() == "var:city"
    assert "City" in page.locator("#import-result thead").inner_text()
    page.locator("#import-list").fill("horeca-brabant")
    page.locator("select[name=map_3]").select_option("ignore")
    page.wait_for_function(
        "() => !document.querySelector('#import-result thead').innerText.includes('City')"
    )
    assert page.locator("#import-list").input_value() == "horeca-brabant"
    page.locator("#import-start-button").click()
    page.locator("#import-summary").wait_for()
    assert page.locator("#import-created").inner_text() == "2"

    page.locator("#import-see-leads").click()
    page.locator("#lead-search").fill("zwaan")
    rows = page.locator("#leads-table tbody tr")
    page.wait_for_function("() => document.querySelectorAll('#leads-table tbody tr').length === 1")
    assert "info@cafe-dezwaan.nl" in rows.first.inner_text()
    rows.first.get_by_role("link").click()

    page.locator("#lead-stop").click()
    page.locator("#lead-stopped").wait_for()
    db.session.expire_all()
    lead = db.session.scalars(sa.select(Lead).where(Lead.email == "info@cafe-dezwaan.nl")).one()
    assert lead.stopped is True
    assert lead.company == "Café De Zwaan"
    assert "city" not in lead.vars
