"""An invitation from the admin's click to the invitee's first login, in a real browser,
with the mail caught by a real SMTP server on the way; an invited admin's first login with
two-factor sign-in."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from tests.browser.test_two_factor import log_in_with_password, set_up_from_the_page
from tests.conftest import PASSWORD
from tests.support.services import SmtpCapture
from tests.support.two_factor import enrol, fresh_code
from tests.team_support import link_in, mail_server
from webapp.services.users import get_user_by_email

__all__ = ["mail_server"]

pytestmark = pytest.mark.browser

INVITEE_PASSWORD = "lantern over the harbour"


def test_an_invitation_walks_from_the_admins_click_to_the_first_login(
    app: Flask,
    live_server: str,
    page: Any,
    browser: Any,
    make_user: Callable[..., Any],
    mail_server: SmtpCapture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", live_server)  # links to this server
    admin = make_user("admin")

    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", admin.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.click("header details.dropdown > summary")  # the menu under the admin's address
    page.click("#nav-users")
    page.wait_for_url(f"{live_server}/users")
    page.fill("#email", "nieuwe.collega@punthelder.nl")
    page.select_option("#role", "manager")
    page.click("#invite-button")
    page.wait_for_selector("#team-message")
    assert "The mail to nieuwe.collega@punthelder.nl is on its way" in page.inner_text(
        "#team-message"
    )
    invited_row = page.locator("tr[data-email='nieuwe.collega@punthelder.nl']")
    assert invited_row.locator("[data-status=invited]").count() == 1

    (mail,) = mail_server.wait_for(1)
    assert mail.rcpt_tos == ["nieuwe.collega@punthelder.nl"]
    link = link_in(mail.message)
    assert link.startswith(f"{live_server}/invite/")

    # The invitee, in a browser of their own.
    context = browser.new_context(locale="en-US")
    refused: list[str] = []
    try:
        invitee = context.new_page()
        invitee.set_default_timeout(10_000)
        invitee.on(
            "console",
            lambda message: (
                refused.append(message.text) if "Content Security Policy" in message.text else None
            ),
        )
        invitee.goto(link)
        assert invitee.input_value("input[name=username]") == "nieuwe.collega@punthelder.nl"
        invitee.fill("#name", "Nieuwe Collega")
        invitee.fill("#password", INVITEE_PASSWORD)
        invitee.fill("#password_repeat", INVITEE_PASSWORD)
        invitee.click("#accept-button")
        invitee.wait_for_url(f"{live_server}/")
        assert "Welcome, Nieuwe Collega" in invitee.inner_text("#flash")
        assert "nieuwe.collega@punthelder.nl" in invitee.inner_text("header")
        # A manager: no users page in the menu.
        assert invitee.locator("#nav-users").count() == 0

        # The link worked once: opened again, it says so.
        invitee.goto(link)
        assert "accepted already" in invitee.inner_text("#invitation-closed")
    finally:
        context.close()
    assert refused == [], "the Content-Security-Policy refused something"

    user = get_user_by_email("nieuwe.collega@punthelder.nl")
    assert user is not None and user.role == "manager"
    page.reload()
    row = page.locator("tr[data-email='nieuwe.collega@punthelder.nl']")
    assert re.search("Nieuwe Collega", row.inner_text())
    assert row.locator("[data-status=active]").count() == 1


def test_an_invited_admin_sets_up_two_factor_and_logs_in_with_a_code(
    app: Flask,
    live_server: str,
    page: Any,
    browser: Any,
    make_user: Callable[..., Any],
    mail_server: SmtpCapture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(app.config, "PUBLIC_BASE_URL", live_server)
    monkeypatch.setitem(app.config, "REQUIRE_TWO_FACTOR_FOR_ADMINS", True)
    admin = make_user("admin")
    admin_secret, _codes = enrol(admin)

    log_in_with_password(page, live_server, admin.email)
    page.wait_for_url(f"{live_server}/login/two-factor")
    page.get_by_label("Code").fill(fresh_code(admin, admin_secret))
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/users")
    page.fill("#email", "tweede.beheerder@punthelder.nl")
    page.select_option("#role", "admin")
    page.click("#invite-button")
    page.wait_for_selector("#team-message")
    (mail,) = mail_server.wait_for(1)
    link = link_in(mail.message)

    context = browser.new_context(locale="en-US")
    try:
        invitee = context.new_page()
        invitee.set_default_timeout(10_000)
        invitee.goto(link)
        invitee.fill("#name", "Tweede Beheerder")
        invitee.fill("#password", INVITEE_PASSWORD)
        invitee.fill("#password_repeat", INVITEE_PASSWORD)
        invitee.click("#accept-button")
        # An admin here must use two-factor sign-in: the first stop is setting it up.
        invitee.wait_for_url(f"{live_server}/account/two-factor")
        secret = set_up_from_the_page(invitee)
        invitee.get_by_role("link", name="I have saved them").click()
        invitee.wait_for_url(f"{live_server}/")
        invitee.locator("summary", has_text="tweede.beheerder@punthelder.nl").click()
        invitee.get_by_role("button", name="Log out").click()
        invitee.wait_for_url(f"{live_server}/login")

        # The first login of their own: the password, then a code from the app.
        invitee.get_by_label("Email").fill("tweede.beheerder@punthelder.nl")
        invitee.get_by_label("Password").fill(INVITEE_PASSWORD)
        invitee.get_by_role("button", name="Log in").click()
        invitee.wait_for_url(f"{live_server}/login/two-factor")
        user = get_user_by_email("tweede.beheerder@punthelder.nl")
        assert user is not None and user.role == "admin" and user.two_factor_enabled
        invitee.get_by_label("Code").fill(fresh_code(user, secret))
        invitee.get_by_role("button", name="Log in").click()
        invitee.wait_for_url(f"{live_server}/")
        assert invitee.get_by_role("heading", name="Overview").is_visible()
    finally:
        context.close()
