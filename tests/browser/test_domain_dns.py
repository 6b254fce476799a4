"""An admin makes a DKIM key on a domain's page, sees the check fail, and after the zone
gains the record, checks again and sees it pass (a real DNS server, a real browser)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from tests.sending_support import make_domain
from tests.support.dns import txt_record
from webapp.extensions import db

pytestmark = pytest.mark.browser

DOMAIN = "punthelder-seo.nl"


def test_an_admin_generates_a_key_and_sees_dkim_turn_green_once_published(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any], dns_server: Any
) -> None:
    make_domain(DOMAIN, 25)
    db.session.commit()
    dns_server.set_zone(f"{DOMAIN}. 60 IN NS ns1.punthelder-mail.nl.")  # delegated, no records
    admin = make_user("admin")
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/domains/{DOMAIN}/edit")

    page.locator("#dkim-generate").click()
    name = page.locator("#dkim-active-name").inner_text()
    value = page.locator("#dkim-active-txt").inner_text()
    assert name.endswith(f"._domainkey.{DOMAIN}")
    assert value.startswith("v=DKIM1; k=rsa; p=")

    page.locator("#dns-check-now").click()
    dkim_row = page.locator("#dns-check-dkim")
    expect(dkim_row).to_have_attribute("data-status", "fail")
    expect(dkim_row).to_contain_text("No DKIM record is published")

    dns_server.add(txt_record(name, value))
    page.locator("#dns-check-now").click()
    page.wait_for_selector('#dns-check-dkim[data-status="pass"]')
    assert (
        "holds the key this application signs with" in page.locator("#dns-check-dkim").inner_text()
    )
