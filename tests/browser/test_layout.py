"""The dashboard reads on a phone: no page scrolls sideways at 390 pixels (nor on a 1366-pixel
laptop), the navigation folds behind a menu button, and the calendar opens on today with its
domain column in view."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import PASSWORD
from tests.factories import make_event, make_lead, make_message
from webapp.database import utcnow
from webapp.demo.world import seed_demo_world
from webapp.extensions import db
from webapp.models import Campaign

pytestmark = pytest.mark.browser

PHONE = 390
LAPTOP = 1366

# Elements reaching past the window's right edge, to name the culprit when a page overflows.
WIDE = """() => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)
  .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
            (e.className && typeof e.className === 'string' ? '.' + e.className : ''))
  .slice(0, 8)"""

PAGE_WIDTH = "() => [document.documentElement.scrollWidth, window.innerWidth]"

# The demo campaign that has sent for eleven days and still has mail queued.
CAMPAIGN_WITH_DATA = "Advocaten Randstad - quickscan"

# Labels of the login form, per language of the browser.
LOGIN_LABELS = {
    "en-US": ("Email", "Password", "Log in"),
    "nl-NL": ("E-mailadres", "Wachtwoord", "Inloggen"),
}


@pytest.fixture
def demo_world(app: Flask, make_user: Callable[..., Any]) -> dict[str, Any]:
    """The demo's leads, templates, campaigns and history, and an admin who sees every control."""
    now = utcnow()
    seed_demo_world(now)
    user = make_user("admin")
    campaign = db.session.execute(
        sa.select(Campaign).where(Campaign.name == CAMPAIGN_WITH_DATA)
    ).scalar_one()
    # The latest event is a long address without a place to break a line, as Dutch company
    # names make them: it lands in the overview's narrow column, beside today's sends.
    lead = make_lead(
        email="directiesecretariaat@installatietechniek-en-duurzame-energieoplossingen.nl"
    )
    message = make_message(
        campaign, lead, status="opened", sent_at=now - timedelta(hours=1), open_at=now
    )
    make_event(message, "opened", created_at=utcnow())  # after the demo's own, seeded since
    db.session.commit()
    return {"email": user.email, "campaign_id": campaign.id}


@pytest.fixture
def open_browser(browser: Any, live_server: str) -> Iterator[Callable[..., Any]]:
    """Pages of a given width and language, logged in; each fails on a refused policy."""
    contexts: list[Any] = []
    refused: list[str] = []

    def open_at(email: str, width: int, locale: str = "en-US") -> Any:
        context = browser.new_context(viewport={"width": width, "height": 844}, locale=locale)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on(
            "console",
            lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
        )
        email_label, password_label, button = LOGIN_LABELS[locale]
        page.goto(f"{live_server}/login")
        page.get_by_label(email_label).fill(email)
        page.get_by_label(password_label).fill(PASSWORD)
        page.get_by_role("button", name=button).click()
        page.wait_for_url(f"{live_server}/")
        return page

    yield open_at
    for context in contexts:
        context.close()
    assert refused == [], "the Content-Security-Policy refused something"


def main_pages(campaign_id: str) -> dict[str, str]:
    return {
        "overview": "/",
        "leads": "/leads/",
        "templates": "/templates/",
        "campaigns": "/campaigns/",
        "campaign, its KPIs and timeline": f"/campaigns/{campaign_id}",
        "calendar": "/calendar",
        "domains": "/domains/",
        "inbox": "/inbox/",
    }


def open_page(page: Any, url: str) -> None:
    """Open a page with everything it loads after the first paint."""
    page.goto(url)
    page.wait_for_load_state("networkidle")  # htmx loads: results, KPI cards, the timeline
    if "/campaigns/" in url and not url.endswith("/campaigns/"):
        page.locator("#timeline-chart").wait_for()
        page.locator("#kpi-reply-rate").wait_for()
        for summary in page.locator("main details:not([open]) > summary").all():
            summary.click()  # the breakdowns per mail and per domain
        page.wait_for_load_state("networkidle")


def overflowing(page: Any, live_server: str, pages: dict[str, str]) -> str:
    """The pages wider than the window, each with its width and what sticks out; or ''."""
    found = []
    for name, path in pages.items():
        open_page(page, f"{live_server}{path}")
        width, window = page.evaluate(PAGE_WIDTH)
        if width > window:
            found.append(f"{name}: {width} px in a {window} px window: {page.evaluate(WIDE)}")
    return "\n".join(found)


@pytest.mark.parametrize("width", [PHONE, LAPTOP])
def test_no_main_page_scrolls_sideways(
    live_server: str, demo_world: dict[str, Any], open_browser: Callable[..., Any], width: int
) -> None:
    page = open_browser(demo_world["email"], width)
    too_wide = overflowing(page, live_server, main_pages(demo_world["campaign_id"]))
    assert not too_wide, too_wide


def test_the_dutch_overview_and_campaign_page_fit_a_phone(
    live_server: str, demo_world: dict[str, Any], open_browser: Callable[..., Any]
) -> None:
    # Dutch words are longer than English ones: "Onderdrukkingen", "Beschikbaarheid".
    page = open_browser(demo_world["email"], PHONE, locale="nl-NL")
    pages = {
        "overview": "/",
        "campaign, its KPIs and timeline": f"/campaigns/{demo_world['campaign_id']}",
    }
    too_wide = overflowing(page, live_server, pages)
    assert not too_wide, too_wide
    assert page.locator("html").get_attribute("lang") == "nl"


def navigation_parts(page: Any) -> tuple[Any, Any, Any]:
    header = page.locator("header.app-header")
    menu = header.locator("#nav-menu-button")
    link = header.get_by_role("link", name="Campaigns", exact=True)
    return header, menu, link


def test_on_a_phone_the_navigation_folds_behind_a_menu_button(
    live_server: str, demo_world: dict[str, Any], open_browser: Callable[..., Any]
) -> None:
    page = open_browser(demo_world["email"], PHONE)
    _, menu, link = navigation_parts(page)
    assert menu.is_visible() and menu.inner_text() == "Menu"
    assert menu.get_attribute("aria-expanded") == "false"
    assert link.is_hidden()

    menu.click()
    assert menu.get_attribute("aria-expanded") == "true"
    assert link.is_visible()
    width, window = page.evaluate(PAGE_WIDTH)
    assert width <= window, page.evaluate(WIDE)  # the open menu fits too
    account = page.locator("summary", has_text=demo_world["email"])
    account.click()  # the account menu opens inside the navigation
    width, window = page.evaluate(PAGE_WIDTH)
    assert width <= window, page.evaluate(WIDE)
    assert page.get_by_role("button", name="Log out").is_visible()
    account.click()

    link.click()
    page.wait_for_url(f"{live_server}/campaigns/")
    _, menu, link = navigation_parts(page)
    assert menu.get_attribute("aria-expanded") == "false"  # a new page opens folded
    assert link.is_hidden()


def test_the_menu_button_works_from_the_keyboard(
    live_server: str, demo_world: dict[str, Any], open_browser: Callable[..., Any]
) -> None:
    page = open_browser(demo_world["email"], PHONE)
    _, menu, link = navigation_parts(page)
    page.keyboard.press("Tab")  # the brand
    page.keyboard.press("Tab")
    assert menu.evaluate("button => button === document.activeElement")

    page.keyboard.press("Enter")
    assert link.is_visible()
    page.keyboard.press("Tab")  # into the menu, on its first link
    assert page.evaluate("document.activeElement.textContent.trim()") == "Overview"
    page.keyboard.press("Escape")
    assert link.is_hidden()
    assert menu.get_attribute("aria-expanded") == "false"
    assert menu.evaluate("button => button === document.activeElement")  # focus goes back

    page.keyboard.press("Space")
    assert link.is_visible()
    page.keyboard.press("Space")
    assert link.is_hidden()


def test_on_a_laptop_the_navigation_shows_without_a_menu_button(
    live_server: str, demo_world: dict[str, Any], open_browser: Callable[..., Any]
) -> None:
    page = open_browser(demo_world["email"], LAPTOP)
    header, menu, link = navigation_parts(page)
    assert menu.is_hidden()
    assert link.is_visible()
    assert header.get_by_role("link", name="Outbox", exact=True).is_visible()
    box = header.bounding_box()
    assert box is not None and box["height"] < 120  # one line, as before


# Where the calendar's parts are on the screen, and what is painted at the domain cell.
CALENDAR_GEOMETRY = """() => {
  const scroller = document.querySelector('#campaign-calendar');
  const box = e => e.getBoundingClientRect();
  const domain = document.querySelector('#campaign-calendar tbody th[scope=row]');
  const today = document.querySelector('#campaign-calendar thead th.calendar-today');
  const d = box(domain);
  const hit = document.elementFromPoint(d.left + 4, d.top + d.height / 2);
  return {
    scroller: {left: box(scroller).left, right: box(scroller).right},
    scrollLeft: scroller.scrollLeft,
    scrollable: scroller.scrollWidth - scroller.clientWidth,
    domain: {left: d.left, right: d.right, text: domain.textContent.trim()},
    domainOnTop: domain.contains(hit),
    today: today && {left: box(today).left, right: box(today).right},
  };
}"""

# Today is the first day in view, right beside the domain column (on a geometry `g` as above):
# on any weekday, not only on the Monday the calendar starts with.
ON_TODAY = (
    "g.today !== null && Math.abs(g.today.left - g.domain.right) <= 1"
    " && g.today.right <= g.scroller.right + 1"
)


def test_the_calendar_opens_on_today_and_keeps_its_domains_in_view(
    live_server: str, demo_world: dict[str, Any], open_browser: Callable[..., Any]
) -> None:
    page = open_browser(demo_world["email"], PHONE)
    open_page(page, f"{live_server}/calendar")
    at_start = page.evaluate(CALENDAR_GEOMETRY)
    assert at_start["scrollable"] > 0  # two weeks do not fit a phone: the calendar scrolls
    # Today's column is in view, beside the domain column rather than under it.
    assert page.evaluate(f"g => {ON_TODAY}", at_start), at_start

    page.locator("#campaign-calendar").evaluate("c => { c.scrollLeft = c.scrollWidth; }")
    page.wait_for_function(
        "() => { const c = document.querySelector('#campaign-calendar');"
        " return c.scrollLeft >= c.scrollWidth - c.clientWidth - 1; }"
    )
    scrolled = page.evaluate(CALENDAR_GEOMETRY)
    assert scrolled["scrollLeft"] > at_start["scrollLeft"]
    assert scrolled["domain"]["left"] >= scrolled["scroller"]["left"] - 1
    assert scrolled["domain"]["right"] <= scrolled["scroller"]["right"]
    assert scrolled["domainOnTop"], "the day cells paint over the domain column"
    assert page.locator("#campaign-calendar tbody th[scope=row]").first.is_visible()

    # Back to this week from a later one: on today again.
    page.locator("#calendar-later").click()
    page.wait_for_function("() => !document.querySelector('#campaign-calendar .calendar-today')")
    page.locator("#calendar-this-week").click()
    page.wait_for_function(f"() => {{ const g = ({CALENDAR_GEOMETRY})(); return {ON_TODAY}; }}")
