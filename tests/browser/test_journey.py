"""A person in a real browser: log in, see the dashboard, log out."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import PASSWORD
from webapp.database import utcnow
from webapp.demo.world import seed_demo_world
from webapp.extensions import db

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshot-dashboard.png"


def test_log_in_see_the_dashboard_and_log_out(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any], tmp_path: Path
) -> None:
    seed_demo_world(utcnow())
    user = make_user("marketer", email="els@punthelder.nl")
    db.session.commit()

    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/login")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill("wrong password!")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_role("alert").inner_text() == "Unknown address or wrong password."

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")
    assert page.get_by_role("heading", name="Overview").is_visible()
    assert "2,088" in page.locator("#overview-counts").inner_text()  # English, as asked

    # The screenshot in the README is this page; refresh it on request.
    target = SCREENSHOT if _refresh_screenshot() else tmp_path / "dashboard.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000

    page.locator("summary", has_text=user.email).click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{live_server}/login")
    assert page.get_by_text("You are logged out.").is_visible()
    page.goto(f"{live_server}/")
    assert page.url.startswith(f"{live_server}/login")


def _refresh_screenshot() -> bool:
    import os

    return os.environ.get("UPDATE_SCREENSHOTS") == "1"
