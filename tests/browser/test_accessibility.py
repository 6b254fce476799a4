"""Every main page passes axe-core with no serious or critical violation, in English and Dutch.

axe runs inside the real page after its htmx fragments have loaded. It is put there with
`page.evaluate`, which runs through the DevTools protocol and so is not refused by the
page's Content-Security-Policy the way an added <script> element would be; the app
itself never serves it (tests/vendor/README.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import PASSWORD
from tests.team_support import path_of
from webapp.database import utcnow
from webapp.demo.world import seed_demo_world
from webapp.extensions import db
from webapp.models import Campaign, CampaignStatus, Lead, Message, MessageStatus, SendingDomain
from webapp.models import Template as MailTemplate
from webapp.services.sending.mailer import build_mail
from webapp.services.sending.transport import deliver_outbox
from webapp.services.team import invitation_url, invite, reset_url
from webapp.services.tracking.tokens import unsubscribe_token

pytestmark = pytest.mark.browser

IMPORT_FILE = Path(__file__).resolve().parents[1] / "fixtures" / "imports" / "cp1252_semicolon.csv"
AXE = (Path(__file__).resolve().parents[1] / "vendor" / "axe-4.12.1.min.js").read_text()
SERIOUS = {"serious", "critical"}
# What axe cannot judge: a badge that says its status only in colour, and a chart whose
# numbers exist only as shapes. Each chart is an image with a name and points, with
# aria-details, at a table of its numbers.
OWN_CHECKS = """() => {
  const problems = [];
  for (const badge of document.querySelectorAll('.badge, .role-badge')) {
    if (!badge.textContent.trim()) problems.push('a badge without words: ' + badge.outerHTML);
  }
  for (const svg of document.querySelectorAll('main svg:not([aria-hidden=true])')) {
    const title = svg.querySelector(':scope > title');
    const table = document.getElementById(svg.getAttribute('aria-details') || '');
    if (svg.getAttribute('role') !== 'img' || !title || !title.textContent.trim())
      problems.push('a chart without a name: ' + svg.outerHTML.slice(0, 120));
    if (!table || table.tagName !== 'TABLE' || !table.querySelector('tbody tr'))
      problems.push('a chart without its table: ' + svg.outerHTML.slice(0, 120));
  }
  return problems;
}"""
RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ['violations']});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    targets: v.nodes.map(n => n.target.join(' ')).slice(0, 8),
  }));
}"""


@pytest.fixture
def outbox(app: Flask, tmp_path: Path) -> Iterator[Path]:
    """A fresh outbox for the mail the Outbox page lists."""
    previous = app.config["OUTBOX_DIR"]
    app.config["OUTBOX_DIR"] = str(tmp_path)
    yield tmp_path
    app.config["OUTBOX_DIR"] = previous


def a_sent_mail_in(outbox: Path) -> Message:
    """One demo mail written to the outbox as the sender writes it."""
    message = db.session.execute(
        sa.select(Message).where(Message.status == MessageStatus.SENT).limit(1)
    ).scalar_one()
    campaign = db.session.get(Campaign, message.campaign_id)
    lead = db.session.get(Lead, message.lead_id)
    domain = db.session.execute(
        sa.select(SendingDomain).where(SendingDomain.name == message.domain_used)
    ).scalar_one()
    assert campaign is not None and lead is not None
    built = build_mail(message, campaign, lead, domain, utcnow())
    deliver_outbox(str(outbox), built.raw, message.id)
    return message


def main_pages(message: Message) -> dict[str, str]:
    """name -> path of every page a logged-in admin reaches from the navigation."""
    running = db.session.execute(
        sa.select(Campaign).where(Campaign.status == CampaignStatus.RUNNING).limit(1)
    ).scalar_one()
    template = db.session.execute(sa.select(MailTemplate).limit(1)).scalar_one()
    lead = db.session.get(Lead, message.lead_id)
    assert lead is not None
    return {
        "overview": "/",
        "leads": "/leads/",
        "lead": f"/leads/{lead.id}",
        "import": "/leads/import",
        "lists": "/leads/lists",
        "templates": "/templates/",
        "template editor": f"/templates/{template.id}",
        "campaigns": "/campaigns/",
        "new campaign": "/campaigns/new",
        "campaign": f"/campaigns/{running.id}",
        "campaign messages": f"/campaigns/{running.id}/messages",
        "campaign settings": f"/campaigns/{running.id}/edit",
        "dry run": f"/planning/campaigns/{running.id}/dry-run",
        "calendar": "/calendar",
        "availability": "/planning/availability",
        "domains": "/domains/",
        "domain": f"/domains/{message.domain_used}/edit",
        "suppressions": "/suppressions/",
        "inbox": "/inbox/",
        "outbox": "/outbox/",
        "outbox mail": f"/outbox/{message.id}",
        "users": "/users",
        "two-factor set-up": "/account/two-factor",
        "account": "/account/",
        "audit trail": "/audit/",
        "not found": "/campaigns/no-such-campaign",
    }


def serious_violations(page: Any, url: str) -> list[dict[str, Any]]:
    """Open the page and return what `findings_here` finds on it."""
    page.goto(url)
    return findings_here(page)


def findings_here(page: Any) -> list[dict[str, Any]]:
    """axe's serious or worse violations on the page as it is now, with those of OWN_CHECKS."""
    # htmx loads the KPIs, timelines and previews after the page: wait until nothing is left
    # to fetch, so axe reads what a person would.
    page.wait_for_load_state("networkidle")
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE)
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    own = [
        {"impact": "serious", "id": "own-check", "help": problem, "helpUrl": "", "targets": []}
        for problem in page.evaluate(OWN_CHECKS)
    ]
    return [v for v in found if v["impact"] in SERIOUS] + own


def states_after_a_click(page: Any, live_server: str) -> Iterator[tuple[str, list[Any]]]:
    """What only shows after a click: the account menu, the inbox's tabs, an import's
    preview and each step of the new-campaign wizard."""
    page.goto(f"{live_server}/")
    page.locator("header details.dropdown > summary").click()
    yield "account menu", findings_here(page)

    page.goto(f"{live_server}/inbox/")
    tabs = page.eval_on_selector_all("[role=tab]", "tabs => tabs.map(t => t.getAttribute('href'))")
    for href in tabs:
        yield f"inbox tab {href}", serious_violations(page, f"{live_server}{href}")

    page.goto(f"{live_server}/leads/import")
    page.locator("#import-file").set_input_files(str(IMPORT_FILE))
    page.locator("#import-preview-button").click()
    page.locator("#import-sample").wait_for()
    yield "import preview", findings_here(page)

    page.goto(f"{live_server}/campaigns/new")
    page.locator("#field-name").fill("Voorjaar mkb Utrecht")
    page.locator("#wizard-next").click()
    page.locator("#wizard[data-step=template]").wait_for()
    page.locator("input[name=template_id]").first.check()
    page.locator(".template-option summary").first.click()
    yield "wizard: template", findings_here(page)
    page.locator("#wizard-next").click()
    page.locator("#wizard[data-step=audience]").wait_for()
    page.locator("#audience-lists input[type=checkbox]").first.check()
    yield "wizard: audience", findings_here(page)
    page.locator("#wizard-next").click()
    page.locator("#wizard[data-step=schedule]").wait_for()
    yield "wizard: schedule", findings_here(page)
    page.locator("#wizard-next").click()
    page.locator("#dry-run").wait_for()
    yield "wizard: dry run", findings_here(page)


def report(findings: dict[str, list[dict[str, Any]]]) -> str:
    lines = []
    for name, violations in findings.items():
        for v in violations:
            lines.append(f"{name}: {v['impact']} {v['id']} ({v['help']}) {v['helpUrl']}")
            lines.extend(f"    {target}" for target in v["targets"])
    return "\n".join(lines)


@pytest.mark.parametrize("locale", ["en-US", "nl-NL"])
def test_every_main_page_has_no_serious_accessibility_violation(
    app: Flask,
    live_server: str,
    browser: Any,
    make_user: Callable[..., Any],
    outbox: Path,
    request: pytest.FixtureRequest,
    locale: str,
) -> None:
    if locale == "nl-NL":
        request.getfixturevalue("dutch")  # the product's own default as well as the browser's
    seed_demo_world(utcnow())
    admin = make_user("admin")
    message = a_sent_mail_in(outbox)
    unsubscribe = f"/u/{unsubscribe_token(message.id)}"
    pages = main_pages(message)
    invitation, _ = invite("nieuw@punthelder.nl", "marketer", admin, utcnow())
    public = {
        "forgot password": "/password/forgot",
        "invitation": path_of(invitation_url(invitation)),
        "new password": path_of(reset_url(admin, utcnow())),
    }
    db.session.commit()

    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale=locale)
    page = context.new_page()
    page.set_default_timeout(10_000)
    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    findings: dict[str, list[dict[str, Any]]] = {}
    try:
        findings["unsubscribe"] = serious_violations(page, f"{live_server}{unsubscribe}")
        for name, path in public.items():
            findings[name] = serious_violations(page, f"{live_server}{path}")
        findings["login"] = serious_violations(page, f"{live_server}/login")
        page.locator("input[name=email]").fill(admin.email)
        page.locator("input[name=password]").fill(PASSWORD)
        page.locator("form button[type=submit]").click()
        page.wait_for_url(f"{live_server}/")
        for name, path in pages.items():
            findings[name] = serious_violations(page, f"{live_server}{path}")
        findings.update(states_after_a_click(page, live_server))
    finally:
        context.close()

    findings = {name: found for name, found in findings.items() if found}
    assert not findings, "axe found serious or critical violations:\n" + report(findings)
    assert refused == [], "the Content-Security-Policy refused something"


FOCUS_RING = """() => {
  const style = getComputedStyle(document.activeElement);
  return {tag: document.activeElement.tagName, style: style.outlineStyle,
          width: parseFloat(style.outlineWidth)};
}"""


def test_the_keyboard_focus_is_always_visible(
    app: Flask, live_server: str, page: Any, make_user: Callable[..., Any]
) -> None:
    user = make_user("admin")
    db.session.commit()
    page.goto(f"{live_server}/login")
    page.locator("input[name=email]").fill(user.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()
    page.wait_for_url(f"{live_server}/")

    # Through the header: the name, every navigation link and the account menu.
    seen = []
    for _ in range(12):
        page.keyboard.press("Tab")
        ring = page.evaluate(FOCUS_RING)
        seen.append(ring["tag"])
        assert ring["style"] != "none" and ring["width"] >= 2, ring
    assert {"A", "SUMMARY"} <= set(seen)
