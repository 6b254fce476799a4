"""An admin tries a domain's SMTP settings from its page in a real browser: the steps show in
place, below the button, without leaving the page."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from tests.conftest import PASSWORD
from tests.sending_support import make_domain
from tests.support.services import SmtpCapture
from webapp.extensions import db

pytestmark = pytest.mark.browser


@pytest.fixture
def smtp(app: Flask) -> Iterator[SmtpCapture]:
    server = SmtpCapture()
    server.start()
    yield server
    server.stop()


def test_an_admin_tests_smtp_on_the_domain_page_and_sees_each_step(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any], smtp: SmtpCapture
) -> None:
    make_domain("punthelder-seo.nl", smtp.port, smtp_host=smtp.host)
    admin = make_user("admin")
    db.session.commit()

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")
    page.goto(f"{live_server}/domains/punthelder-seo.nl/edit")

    page.get_by_role("button", name="Test SMTP").click()
    result = page.locator("#smtp-test-result")
    result.get_by_text("SMTP works.").wait_for()
    steps = result.locator("li[data-step]")
    assert steps.evaluate_all("items => items.map(i => [i.dataset.step, i.dataset.ok])") == [
        ["connect", "true"],
        ["tls", "true"],
        ["login", "true"],
    ]
    assert f"Connected to {smtp.host}:{smtp.port}." in steps.first.inner_text()
    assert page.url == f"{live_server}/domains/punthelder-seo.nl/edit"
    assert smtp.messages == []

    # The server goes away: the next try says the connection was refused.
    smtp.stop()
    page.get_by_role("button", name="Test SMTP").click()
    result.get_by_text("SMTP test failed.").wait_for()
    assert "connection refused" in result.inner_text()
