"""Two-factor sign-in in a real browser: set it up from the page's own QR code and key,
keep the recovery codes, and log in again with a code the app would show."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask

from tests.browser.test_accessibility import findings_here
from tests.conftest import PASSWORD
from tests.support.two_factor import fresh_code
from webapp.models import User

pytestmark = pytest.mark.browser


def log_in_with_password(page: Any, live_server: str, email: str) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def set_up_from_the_page(page: Any) -> str:
    """Read the key as a person would type it into an app, and confirm with its code."""
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    assert qr.evaluate("image => image.complete && image.naturalWidth > 200")
    secret: str = page.locator("#two-factor-secret").inner_text().replace(" ", "")
    page.get_by_label("6-digit code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Switch on two-factor sign-in").click()
    page.get_by_role("heading", name="Two-factor sign-in is on").wait_for()
    return secret


def test_set_up_two_factor_keep_the_codes_and_log_in_with_one_from_the_app(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any], tmp_path: Path
) -> None:
    user: User = make_user("marketer", email="anna@punthelder.nl")
    log_in_with_password(page, live_server, user.email)
    page.wait_for_url(f"{live_server}/")

    page.locator("summary", has_text=user.email).click()
    page.get_by_role("link", name="Two-factor sign-in").click()
    page.wait_for_url(f"{live_server}/account/two-factor")
    secret = set_up_from_the_page(page)

    codes = page.locator("#recovery-codes").inner_text().split()
    assert len(codes) == 10
    assert findings_here(page) == []  # axe: nothing serious on the page of codes
    with page.expect_download() as download:
        page.get_by_role("button", name="Download").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.read_text().split() == codes
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("button", name="Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()").split() == codes
    page.get_by_role("link", name="I have saved them").click()
    page.wait_for_url(f"{live_server}/")

    page.locator("summary", has_text=user.email).click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server}/login")
    log_in_with_password(page, live_server, user.email)
    page.wait_for_url(f"{live_server}/login/two-factor")
    assert findings_here(page) == []
    page.get_by_label("Code").fill(fresh_code(user, secret))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")
    assert page.get_by_role("heading", name="Overview").is_visible()

    page.goto(f"{live_server}/account/two-factor")
    assert page.locator("#recovery-codes-left").inner_text() == "10 unused recovery codes left."
    assert findings_here(page) == []


def test_an_admin_who_must_use_two_factor_is_taken_to_set_it_up_at_the_first_login(
    app: Flask,
    live_server: str,
    page: Any,
    make_user: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "REQUIRE_TWO_FACTOR_FOR_ADMINS", True)
    admin: User = make_user("admin", email="bram@punthelder.nl")
    log_in_with_password(page, live_server, admin.email)
    page.wait_for_url(f"{live_server}/account/two-factor")
    assert page.get_by_text("Admins must use two-factor sign-in here").is_visible()
    page.goto(f"{live_server}/campaigns/")
    page.wait_for_url(f"{live_server}/account/two-factor")

    set_up_from_the_page(page)
    page.get_by_role("link", name="I have saved them").click()
    page.wait_for_url(f"{live_server}/")
    assert page.get_by_role("link", name="Campaigns", exact=True).is_visible()
