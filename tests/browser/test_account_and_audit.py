"""In a real browser: an API token made on the account page is shown once, and the audit
trail is narrowed by person, action and date without leaving the page."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import expect

from tests.conftest import PASSWORD
from webapp.extensions import db
from webapp.models import AuditEvent

pytestmark = pytest.mark.browser


def log_in(page: Any, live_server: str, email: str) -> None:
    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")


def test_a_new_token_is_shown_once_copied_and_gone_after_a_reload(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any]
) -> None:
    user = make_user("manager")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    log_in(page, live_server, user.email)

    page.locator("summary", has_text=user.email).click()
    page.locator("#account-link").click()
    page.wait_for_url(f"{live_server}/account/")
    page.locator("#token-name").fill("Rapportage")
    page.locator("#token-create").click()

    shown = page.locator("#new-token-value")
    shown.wait_for()
    token = shown.input_value()
    assert token.startswith("cdt_")
    assert "you will not see it again" in page.locator("#new-token").inner_text()
    page.locator("#new-token-copy").click()
    expect(page.locator("#new-token-copy")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == token
    assert page.locator("#token-table").inner_text().count("Rapportage") == 1

    page.reload()
    assert page.locator("#new-token").count() == 0
    assert token not in page.content()
    row = page.locator("#token-table tbody tr", has_text="Rapportage")
    assert "never" in row.inner_text()

    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Revoke").click()
    page.locator("#token-message").wait_for()
    assert page.locator("#token-table tbody tr", has_text="Rapportage").count() == 0


def test_the_audit_trail_narrows_by_person_action_and_date(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any]
) -> None:
    admin, marketer = make_user("admin"), make_user("marketer")
    marketer.name = "Mila Marketeer"
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for day in range(3):
        for user, action in ((marketer, "campaign.start"), (marketer, "campaign.stop"),
                             (admin, "campaign.start")):  # fmt: skip
            db.session.add(
                AuditEvent(
                    action=action,
                    user_id=user.id,
                    subject_type="campaign",
                    subject_id=None,
                    details={},
                    created_at=start + timedelta(days=day),
                )
            )
    db.session.commit()
    log_in(page, live_server, admin.email)

    page.get_by_role("link", name="Audit trail").click()
    page.wait_for_url(f"{live_server}/audit/")
    rows = page.locator("#audit-table tbody tr[data-action]")
    assert rows.count() == 9

    page.locator("#audit-user").select_option(label=f"Mila Marketeer ({marketer.email})")
    page.wait_for_url(f"**/audit/?user_id={marketer.id}*")
    expect(rows).to_have_count(6)
    page.locator("#audit-action").select_option("campaign.stop")
    expect(rows).to_have_count(3)
    page.locator("#audit-since").fill("2026-03-03")
    expect(rows).to_have_count(2)
    assert {rows.nth(n).get_attribute("data-action") for n in range(2)} == {"campaign.stop"}
    assert "Mila Marketeer" in rows.first.inner_text()
    assert "Stopped a campaign" in rows.first.inner_text()
    export = page.locator("#audit-export").get_attribute("href")
    for part in (f"user_id={marketer.id}", "action=campaign.stop", "since=2026-03-03"):
        assert part in export

    page.reload()  # the filtered address is the page
    assert page.locator("#audit-since").input_value() == "2026-03-03"
    assert rows.count() == 2
