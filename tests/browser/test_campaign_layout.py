"""A campaign page with long names and many domains fits a 1366-pixel laptop screen."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask

from tests.conftest import PASSWORD
from tests.factories import make_campaign, make_lead, make_message, make_template
from webapp.extensions import db
from webapp.models import CampaignAudience, SendingDomain
from webapp.services.domains import DEFAULT_ALIASES, seed_default_domains

pytestmark = pytest.mark.browser

# Elements wider than the window, to name the culprit when the page overflows.
WIDE = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
            (e.className && typeof e.className === 'string' ? '.' + e.className : ''))
  .slice(0, 10)"""


def a_campaign_with_long_names_on_many_domains() -> Any:
    seed_default_domains()
    extra = [
        f"punthelder-{word}-zoekmachine-optimalisatie-nederland.nl"
        for word in ("amsterdam", "rotterdam", "eindhoven", "groningen")
    ]
    for index, name in enumerate(extra, start=5):
        db.session.add(
            SendingDomain(name=name, label=f"v{index}", aliases=[dict(a) for a in DEFAULT_ALIASES])
        )
    template = make_template(
        steps=4, name="Kennismaking voor het midden- en kleinbedrijf in de Randstad, vier stappen"
    )
    domains = [
        "punthelder-vindbaarheid.nl",
        "punthelder-marketing.nl",
        "punthelder-seo.nl",
        "punthelder-zoekmachine.nl",
        *extra,
    ]
    campaign = make_campaign(
        name="Voorjaarscampagne mkb Utrecht, Amersfoort en Hilversum: bakkerijen, slagerijen "
        "en installatiebedrijven met een verouderde website",
        status="running",
        template_id=template.id,
        domains=domains,
        domain=domains[0],
    )
    # List names as Excel exports name them: one long word, nowhere to break a line.
    lists = [
        f"MKB{city}InstallatiebedrijvenExportJanuari2026" for city in ("Utrecht", "Amersfoort")
    ]
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    lead_ids = []
    for k in range(24):
        slug = "installatietechniek-en-duurzame-energieoplossingen"
        lead = make_lead(
            email=f"directiesecretariaat.{k}@{slug}-{k}.nl",
            company=f"{slug.title()} Holding B.V. vestiging {k}",
            list_name=lists[k % 2],
        )
        lead_ids.append(lead.id)
        make_message(
            campaign,
            lead,
            domain_used=domains[k % len(domains)],
            alias="christian",
            scheduled_at=start + timedelta(minutes=20 * k),
            status="failed" if k == 0 else "queued",
            last_error="451 4.7.1 Temporary local problem - please try again later; the "
            "receiving server greylisted the sender" * (k == 0),
        )
    db.session.add(CampaignAudience(campaign_id=campaign.id, lead_ids=lead_ids, list_names=lists))
    return campaign


@pytest.mark.parametrize("role", ["marketer", "manager"])
def test_a_campaign_page_fits_a_1366_pixel_window(
    app: Flask, live_server: str, browser: Any, make_user: Callable[..., Any], role: str
) -> None:
    campaign = a_campaign_with_long_names_on_many_domains()
    user = make_user(role)
    db.session.commit()
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="nl-NL")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(f"{live_server}/login")
        # In Dutch, whose longer words are the harder fit.
        page.get_by_label("E-mailadres").fill(user.email)
        page.get_by_label("Wachtwoord").fill(PASSWORD)
        page.get_by_role("button", name="Inloggen").click()
        page.wait_for_url(f"{live_server}/")

        page.goto(f"{live_server}/campaigns/{campaign.id}")
        page.locator("#timeline-title").wait_for()
        for summary in page.locator("main details:not([open]) > summary").all():
            summary.click()  # the breakdown per mail and per domain, and the like

        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1366, page.evaluate(WIDE)
    finally:
        context.close()
