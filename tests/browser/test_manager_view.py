"""A manager in a real browser: the overview, a campaign's results and timeline chart, the
calendar and availability, a CSV download, and no write action anywhere."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import PASSWORD
from tests.factories import make_campaign, make_event, make_lead, make_message
from webapp.database import utcnow
from webapp.extensions import db
from webapp.services.domains import seed_default_domains

pytestmark = pytest.mark.browser

# Forms that post (other than logging out) and htmx writes that are enabled.
WRITE_ACTIONS = """() => {
  const forms = [...document.querySelectorAll('form')].filter(f =>
    (f.getAttribute('method') || 'get').toLowerCase() !== 'get' &&
    !f.action.endsWith('/logout') &&
    [...f.querySelectorAll('button, input[type=submit]')].some(b => !b.disabled));
  const htmx = [...document.querySelectorAll('[hx-post], [hx-put], [hx-patch], [hx-delete]')]
    .filter(e => !e.disabled);
  return forms.map(f => f.outerHTML.slice(0, 120)).concat(htmx.map(e => e.outerHTML.slice(0, 120)));
}"""


def a_running_campaign() -> Any:
    seed_default_domains()
    campaign = make_campaign(name="Najaar Utrecht", status="running", domain="punthelder-seo.nl")
    now = utcnow()
    for k in range(6):
        sent_at = now - timedelta(days=k % 3, hours=1)
        message = make_message(
            campaign,
            make_lead(),
            status="opened" if k % 2 else "sent",
            sent_at=sent_at,
            open_at=sent_at + timedelta(hours=2) if k % 2 else None,
        )
        if k % 2:
            make_event(message, "opened", meta={"machine": k == 1}, created_at=sent_at)
        if k == 3:
            make_event(message, "replied", created_at=sent_at + timedelta(hours=3))
    for k in range(3):
        make_message(campaign, make_lead(), scheduled_at=now + timedelta(days=1, minutes=20 * k))
    return campaign


def test_a_manager_reads_everything_and_can_change_nothing(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any], tmp_path: Path
) -> None:
    campaign = a_running_campaign()
    manager = make_user("manager", email="directie@punthelder.nl")
    db.session.commit()

    page.goto(f"{live_server}/login")
    page.get_by_label("Email").fill(manager.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server}/")

    overview = page.locator(f"#overview-campaign-{campaign.id}")
    assert "Najaar Utrecht" in overview.inner_text()
    # 6 sent, 3 opened (one only by a machine), 1 replied.
    # 2 of 6 sent were opened by a person (3 with machine opens); 1 of 6 replied.
    assert "33,33%" in overview.inner_text() and "16,67%" in overview.inner_text()
    assert page.locator("#todays-sends-table").is_visible()
    assert page.locator("#recent-events [data-event='replied']").count() == 1
    assert page.evaluate(WRITE_ACTIONS) == []

    overview.get_by_role("link", name="Najaar Utrecht").click()
    page.wait_for_url(f"{live_server}/campaigns/{campaign.id}")
    cards = page.locator("#campaign-kpis")
    cards.locator("#kpi-reply-rate").wait_for()
    assert "33,33%" in cards.locator("#kpi-open-rate h2").inner_text()
    assert "50,00%" in cards.locator("#kpi-open-rate p").inner_text()  # with machine opens
    assert "50,00%" in cards.locator("#kpi-open-rate").inner_text()
    chart = page.locator("#timeline-chart")
    chart.wait_for()
    assert chart.locator("rect.chart-bar").count() >= 1
    assert page.locator("#timeline-table tbody tr").count() >= 1
    assert page.evaluate(WRITE_ACTIONS) == []

    with page.expect_download() as download_info:
        page.locator("#download-messages-csv").click()
    path = tmp_path / "messages.csv"
    download_info.value.save_as(path)
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("message_id,lead_email")
    assert len(lines) == 1 + 9

    page.goto(f"{live_server}/")
    page.locator("#calendar-link").click()
    page.wait_for_url(f"{live_server}/calendar")
    row = page.locator("#campaign-calendar tr[data-domain='punthelder-seo.nl']")
    assert row.get_by_role("link", name="Najaar Utrecht").count() >= 2  # sent and queued days
    assert page.evaluate(WRITE_ACTIONS) == []

    page.locator("main").get_by_role("link", name="availability").click()
    page.wait_for_url(f"{live_server}/planning/availability")
    assert "punthelder-seo.nl" in page.content()
    assert page.evaluate(WRITE_ACTIONS) == []
