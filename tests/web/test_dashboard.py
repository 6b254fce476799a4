"""The overview: every campaign's figures, today per domain, live events, the calendar."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask

from tests.factories import make_campaign, make_event, make_lead, make_message
from tests.services.test_kpis import every_kind_of_message
from tests.support.untranslated import ROOT, untranslated_in_template
from webapp.database import utcnow
from webapp.extensions import db
from webapp.services.domains import get_domain, seed_default_domains
from webapp.services.kpis.overview import campaign_calendar, campaign_overview, todays_sends
from webapp.services.kpis.summaries import plain_totals

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def test_the_overview_gives_every_campaign_the_plain_aggregates_figures(app: Flask) -> None:
    first = make_campaign(name="Eerste", status="running")
    every_kind_of_message(first)
    make_campaign(name="Leeg")

    rows = {row["name"]: row for row in campaign_overview()}

    plain: dict[str, int] = {}
    for counts in plain_totals(first.id).values():
        for name, value in counts.items():
            plain[name] = plain.get(name, 0) + value
    assert {k: rows["Eerste"][k] for k in plain} == plain
    assert rows["Eerste"]["reply_rate_pct"] == 14.29
    assert rows["Leeg"]["sent"] == 0 and rows["Leeg"]["open_rate_pct"] is None


def test_the_overview_page_lists_campaigns_with_dashes_for_those_that_sent_nothing(
    app: Flask, dutch: None, login_as: Callable[[str], Any]
) -> None:
    sent = make_campaign(name="Verstuurd", status="running")
    every_kind_of_message(sent)
    empty = make_campaign(name="Nog niets")
    db.session.commit()

    page = login_as("manager").get("/").text

    assert (
        f'id="overview-campaign-{sent.id}"' in page and "28,57%" in page
    )  # opened by a person: 2 of 7
    row = page.split(f'id="overview-campaign-{empty.id}"')[1].split("</tr>")[0]
    assert row.count("\u2013") == 3 and "%" not in row


def test_todays_sends_per_domain_count_the_dutch_day_against_capacity(app: Flask) -> None:
    seed_default_domains()
    campaign = make_campaign(domain="punthelder-seo.nl")
    now = utcnow()
    for minutes in (1, 2, 3):
        make_message(
            campaign,
            make_lead(),
            domain_used="punthelder-seo.nl",
            status="sent",
            sent_at=now - timedelta(seconds=minutes),
        )
    make_message(
        campaign,
        make_lead(),
        domain_used="punthelder-seo.nl",
        status="sent",
        sent_at=now - timedelta(days=2),
    )

    sends = {row["domain"]: row for row in todays_sends(now)}

    assert sends["punthelder-seo.nl"]["sent"] == 3
    assert sends["punthelder-marketing.nl"]["sent"] == 0
    assert len(sends) == 4
    capacities = {row["capacity"] for row in sends.values()}
    assert capacities <= {0, 27}  # the default window, or none on a weekend or holiday


def test_the_calendar_shows_which_campaign_sends_from_which_domain_on_which_day(
    app: Flask,
) -> None:
    seed_default_domains()
    past = make_campaign(name="Verleden")
    ahead = make_campaign(name="Straks")
    now = utcnow()
    make_message(
        past,
        make_lead(),
        domain_used="punthelder-seo.nl",
        status="sent",
        sent_at=now - timedelta(days=3),
    )
    for k in (1, 2):
        make_message(
            ahead,
            make_lead(),
            domain_used="punthelder-marketing.nl",
            scheduled_at=now + timedelta(days=2, minutes=k),
        )

    # The week of the sent mail: two weeks from its Monday reach two days ahead too.
    calendar = campaign_calendar(
        now, week_of=(now - timedelta(days=3)).astimezone(AMSTERDAM).date()
    )

    entries = {
        (row["domain"], day, entry["name"], entry["messages"])
        for row in calendar["rows"]
        for day, cell in zip(calendar["days"], row["cells"], strict=True)
        for entry in cell
    }
    local = ZoneInfo("Europe/Amsterdam")
    assert entries == {
        (
            "punthelder-seo.nl",
            (now - timedelta(days=3)).astimezone(local).date().isoformat(),
            "Verleden",
            1,
        ),
        (
            "punthelder-marketing.nl",
            (now + timedelta(days=2, minutes=1)).astimezone(local).date().isoformat(),
            "Straks",
            2,
        ),
    }
    assert len(calendar["days"]) == 14


def test_the_calendar_opens_on_the_current_week_and_pages_by_week(
    app: Flask, login_as: Callable[[str], Any]
) -> None:
    seed_default_domains()
    db.session.commit()
    today = utcnow().astimezone(AMSTERDAM).date()
    monday = today - timedelta(days=today.weekday())
    client = login_as("manager")

    page = client.get("/calendar").text
    days = re.findall(r'<td data-date="([0-9-]+)"', page)

    assert days[0] == monday.isoformat() and today.isoformat() in days[:7]
    assert 'class="calendar-today" aria-current="date"' in page
    earlier = monday - timedelta(days=14)
    assert f'href="/calendar?week={earlier.isoformat()}"' in page
    fragment = client.get(f"/calendar?week={earlier.isoformat()}", headers={"HX-Request": "true"})
    assert re.findall(r'<td data-date="([0-9-]+)"', fragment.text)[0] == earlier.isoformat()
    assert client.get("/calendar?week=nonsense").status_code == 200


def test_the_latest_events_poll_only_while_the_tab_is_visible(
    app: Flask, login_as: Callable[[str], Any]
) -> None:
    campaign = make_campaign(name="Live")
    message = make_message(campaign, make_lead(email="piet@klant.nl"))
    make_event(message, "opened", meta={"machine": True})
    db.session.commit()
    client = login_as("manager")

    page = client.get("/").text
    fragment = client.get("/events", headers={"HX-Request": "true"}).text

    # The visibility check lives in static/app.js (an htmx:beforeRequest listener): the
    # Content-Security-Policy allows no eval, which an hx-trigger filter needs.
    assert 'hx-trigger="every 10s" data-poll-when-visible' in page
    assert fragment.lstrip().startswith('<div id="recent-events"')
    assert "piet@klant.nl" in fragment and "(machine)" in fragment


def test_the_calendar_page_renders_for_a_manager(
    app: Flask, login_as: Callable[[str], Any]
) -> None:
    seed_default_domains()
    db.session.commit()
    response = login_as("manager").get("/calendar")
    assert response.status_code == 200
    assert 'id="campaign-calendar"' in response.text
    assert 'data-domain="punthelder-seo.nl"' in response.text


def test_the_overview_and_the_calendar_read_in_dutch(
    app: Flask, dutch: None, login_as: Callable[[str], Any]
) -> None:
    seed_default_domains()
    campaign = make_campaign(name="Najaar", status="running")
    message = make_message(campaign, make_lead(email="piet@klant.nl"))
    make_event(message, "replied")
    make_event(message, "opened", meta={"machine": True})
    db.session.commit()
    client = login_as("manager")

    page = client.get("/").text
    assert '<html lang="nl">' in page
    for text in ("Overzicht", "Fijn je te zien", "Reactiepercentage", "Vandaag per verzenddomein"):
        assert text in page
    assert "campagne, 1 lopend" in page and "actieve verzenddomeinen" in page
    events = page.split('id="recent-events"')[1]
    assert "Laatste gebeurtenissen" in page and "beantwoord" in events and "(machine)" in events
    assert 'data-event="replied"' in events  # the raw value stays for scripts and styles
    assert "Good to see you" not in page and "Latest events" not in page

    calendar = client.get("/calendar").text
    assert "Campagnekalender" in calendar and "Deze week" in calendar
    assert "beschikbaarheid</a>" in calendar and "Domein" in calendar

    templates = sorted((ROOT / "templates" / "dashboard").glob("*.html"))
    templates += [
        ROOT / "templates" / name for name in ("base.html", "_macros.html", "_flash.html")
    ]
    assert [text for path in templates for text in untranslated_in_template(path)] == []


# A Tuesday, 14:00 in Amsterdam: a working day with most of its window gone.
TUESDAY = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
V1, V2, V3 = "punthelder-vindbaarheid.nl", "punthelder-marketing.nl", "punthelder-seo.nl"


def sent_today(domain: str, count: int, now: datetime = TUESDAY) -> None:
    """`count` mails of one campaign that went from `domain` in the last hours before `now`."""
    campaign = make_campaign(domain=domain, status="running")
    for k in range(count):
        make_message(
            campaign,
            make_lead(),
            domain_used=domain,
            status="sent",
            scheduled_at=now - timedelta(minutes=10 * k + 5),
            sent_at=now - timedelta(minutes=10 * k + 4),
        )


def test_todays_capacity_is_the_days_allowance_under_a_cap_or_a_ramp(app: Flask) -> None:
    seed_default_domains()
    sent_today(V1, 18)
    v1, v3 = get_domain(V1), get_domain(V3)
    assert v1 is not None and v3 is not None
    v1.daily_cap = 10  # lowered after 18 went out today
    v3.daily_cap, v3.ramp_start, v3.ramp_step = 20, 5, 5
    v3.ramp_started_on = date(2026, 11, 30)  # yesterday: day two of the ramp
    db.session.flush()

    sends = {row["domain"]: row for row in todays_sends(TUESDAY)}

    assert (sends[V1]["sent"], sends[V1]["capacity"]) == (18, 10)  # full, not 9 slots free
    assert sends[V3]["capacity"] == 10  # 5 + 5, not the window's 27
    assert sends[V2]["capacity"] == 27  # no cap, no ramp: the window


def test_the_overview_shows_a_day_past_its_lowered_cap_as_more_than_full(
    app: Flask, login_as: Callable[[str], Any]
) -> None:
    seed_default_domains()
    v1 = get_domain(V1)
    assert v1 is not None
    # Every day a working day, so that today has its window whatever the date.
    v1.working_days, v1.skip_holidays = [1, 2, 3, 4, 5, 6, 7], False
    sent_today(V1, 18, utcnow())
    v1.daily_cap = 10
    db.session.commit()

    page = login_as("manager").get("/").text

    assert f"{v1.label}: 18 / 10</text>" in page
    row = page.split(f'<tr data-domain="{V1}">')[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["18", "0", "10"]
