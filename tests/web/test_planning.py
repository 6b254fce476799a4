"""The dry run and domain availability, over the API and as pages."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.factories import make_campaign, make_lead, make_message, make_template
from tests.support.dry_runs import calculated
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Campaign, CampaignAudience, Message, SendingDomain, StoredDryRun
from webapp.services.domains import get_domain, seed_default_domains
from webapp.services.planning.availability import domain_availability

V1, V2, V3 = "punthelder-vindbaarheid.nl", "punthelder-marketing.nl", "punthelder-seo.nl"
V4 = "punthelder-zoekmachine.nl"


@pytest.fixture
def campaign(app: Flask) -> Campaign:
    seed_default_domains()
    template = make_template(3)
    made = make_campaign(template_id=template.id, domain=None, domains=[V1, V3], followup_days=2)
    made.audience = CampaignAudience(lead_ids=[make_lead().id for _ in range(40)])
    db.session.commit()
    return made


def test_the_api_dry_run_answers_the_documented_shape_and_writes_nothing(
    api_client: Any, campaign: Campaign
) -> None:
    client, headers = api_client("manager")
    response = client.get(f"/api/v1/campaigns/{campaign.id}/dry-run", headers=headers)
    assert response.status_code == 200
    report = response.get_json()
    assert set(report) >= {"total_messages", "finishes_at", "per_domain", "per_day", "warnings"}
    assert report["total_messages"] == 120
    assert {d["domain"] for d in report["per_domain"]} == {V1, V3}
    entry = report["per_domain"][0]
    assert set(entry) >= {
        "domain",
        "leads",
        "messages",
        "by_mail_number",
        "first_slot",
        "last_slot",
        "days_needed",
    }
    assert entry["by_mail_number"] == {"1": 20, "2": 20, "3": 20}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d", report["finishes_at"])
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d", d["date"]) for d in report["per_day"])
    assert sum(d["messages"] for d in report["per_day"]) == 120
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 0


def test_the_api_dry_run_of_an_unknown_campaign_is_404(api_client: Any, app: Flask) -> None:
    client, headers = api_client("marketer")
    response = client.get("/api/v1/campaigns/nope/dry-run", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"]


def test_the_api_needs_a_token(client: Any, campaign: Campaign) -> None:
    assert client.get(f"/api/v1/campaigns/{campaign.id}/dry-run").status_code == 401
    assert client.get("/api/v1/domains/availability").status_code == 401


def test_availability_is_not_taken_for_a_domain_name(api_client: Any, campaign: Campaign) -> None:
    get_domain(V3).paused = True
    db.session.commit()
    client, headers = api_client("manager")
    response = client.get("/api/v1/domains/availability", headers=headers)
    assert response.status_code == 200
    entries = response.get_json()
    assert [e["label"] for e in entries] == ["v1", "v2", "v3", "v4"]
    for entry in entries:
        assert set(entry) >= {
            "domain",
            "label",
            "active_campaigns",
            "capacity_per_day",
            "booked",
            "next_free_slot",
            "paused",
        }
        assert len(entry["booked"]) == 14
    assert entries[2]["paused"] is True and entries[2]["next_free_slot"] is None
    # The domain itself is still found under its name.
    assert client.get(f"/api/v1/domains/{V3}", headers=headers).get_json()["name"] == V3


def test_the_dry_run_partial_draws_a_chart_with_patterns_and_a_table(
    dutch: None, login_as: Any, campaign: Campaign
) -> None:
    client = login_as("marketer")
    response = calculated(
        client, f"/planning/campaigns/{campaign.id}/dry-run", headers={"HX-Request": "true"}
    )
    assert response.status_code == 286  # the answer to the last poll ends the polling
    html = response.text
    assert "<html" not in html and 'id="dry-run"' in html
    assert '<svg id="dry-run-chart"' in html
    # One pattern per domain, so the bars read without colour.
    assert len(re.findall(r'<pattern id="dry-run-pattern-\d"', html)) == 2
    assert 'fill="url(#dry-run-pattern-1)"' in html
    assert re.search(r"<title>\d\d-\d\d-\d{4} · v1: \d+ berichten</title>", html)
    assert 'id="dry-run-days"' in html and 'id="dry-run-legend"' in html
    cells = re.findall(
        r'<tr data-date="[^"]+"><td>[^<]+</td><td>(\d+)</td><td>(\d+)</td><td>(\d+)</td>', html
    )
    assert sum(int(total) for _, _, total in cells) == 120
    assert all(int(a) + int(b) == int(t) for a, b, t in cells)


def test_the_dry_run_page_without_htmx_is_a_whole_page(login_as: Any, campaign: Campaign) -> None:
    client = login_as("manager")
    first = client.get(f"/planning/campaigns/{campaign.id}/dry-run")
    assert first.status_code == 200 and "<html" in first.text
    assert "Calculating the plan" in first.text  # without JavaScript: a reload link
    assert f'<a href="/planning/campaigns/{campaign.id}/dry-run">Reload</a>' in first.text
    response = calculated(client, f"/planning/campaigns/{campaign.id}/dry-run")
    assert response.status_code == 200
    assert "<html" in response.text and 'id="dry-run-total"' in response.text


def test_the_dry_run_partial_lists_warnings(login_as: Any, campaign: Campaign) -> None:
    get_domain(V3).paused = True
    db.session.commit()
    html = calculated(
        login_as("marketer"),
        f"/planning/campaigns/{campaign.id}/dry-run",
        headers={"HX-Request": "true"},
    ).text
    assert 'data-code="domain_paused"' in html and f"{V3} is paused" in html


def test_the_availability_page_shows_a_heat_map_to_managers(
    login_as: Any, campaign: Campaign
) -> None:
    client = login_as("manager")
    response = client.get("/planning/availability")
    assert response.status_code == 200
    html = response.text
    assert ">Availability</a>" in html  # in the navigation
    assert 'id="availability-table"' in html and 'id="availability-v1"' in html
    assert len(re.findall(r'<td class="heat heat-\d"', html)) >= 4 * 14
    assert client.get("/planning/campaigns/nope/dry-run").status_code == 404


def test_the_pages_need_a_login(client: Any, campaign: Campaign) -> None:
    response = client.get("/planning/availability")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_availability_and_the_dry_run_read_in_dutch(
    dutch: None, login_as: Any, campaign: Campaign
) -> None:
    client = login_as("manager")
    html = client.get("/planning/availability").text
    for text in ("<title>Beschikbaarheid van domeinen", "Lopende campagnes", "Slots per dag",
                 "Eerstvolgende vrije slot", ">Beschikbaarheid</a>", ">leeg</span>"):  # fmt: skip
        assert text in html, text
    assert "Elke cel: mails die dag verstuurd of geboekt / mails die de dag aankan." in html
    assert re.search(r'<td class="heat heat-\d"[^>]*>\d+<span class="heat-of">/\d+</span>', html)

    dry_run = calculated(client, f"/planning/campaigns/{campaign.id}/dry-run").text
    expected = ["<title>Proefplanning", ">120</h2><p>berichten</p>", "verzenddomeinen",
                "Benodigde dagen", "mail 1: 20", "Berichten per dag en domein",
                "(strepen)"]  # fmt: skip
    for text in expected:
        assert text in dry_run, text


def test_the_page_has_a_job_make_the_report_once_and_the_api_answers_at_once(
    login_as: Any, api_client: Any, campaign: Campaign
) -> None:
    client = login_as("marketer")
    url = f"/planning/campaigns/{campaign.id}/dry-run"
    first = client.get(url, headers={"HX-Request": "true"})
    assert 'data-calculating="true"' in first.text and 'hx-trigger="every 1s"' in first.text
    done = calculated(client, url, headers={"HX-Request": "true"})
    assert 'id="dry-run-total"' in done.text
    kept = db.session.get(StoredDryRun, campaign.id)
    assert kept is not None and kept.report["total_messages"] == 120 and kept.computing is None
    # A booking of another campaign on its domain makes the kept report stale.
    other = make_campaign(domain=V1, status="running")
    lead = make_lead()
    db.session.add(
        Message(campaign_id=other.id, lead_id=lead.id, mail_number=1, domain_used=V1,
                alias="christian", scheduled_at=utcnow() + timedelta(days=1), status="queued")
    )  # fmt: skip
    db.session.commit()
    assert 'data-calculating="true"' in client.get(url, headers={"HX-Request": "true"}).text
    # The API does not wait for a job: it answers the report itself.
    api, headers = api_client("manager")
    assert (
        api.get(f"/api/v1/campaigns/{campaign.id}/dry-run", headers=headers).json["total_messages"]
        == 120
    )
    calculated(client, url, headers={"HX-Request": "true"})  # the job ends within the test


def test_the_availability_heat_map_comes_fifty_domains_a_page(
    login_as: Any, campaign: Campaign
) -> None:
    for n in range(56):  # 60 domains with the four defaults
        db.session.add(SendingDomain(name=f"extra-{n:02d}.nl", label=f"x{n:02d}"))
    db.session.commit()
    client = login_as("marketer")
    rows = r'<tr id="availability-[^"]+" data-domain="([^"]+)">'

    first = client.get("/planning/availability").text
    assert len(re.findall(rows, first)) == 50
    assert "Page 1 of 2" in first and 'id="availability-pages-next"' in first
    second = client.get("/planning/availability?page=2", headers={"HX-Request": "true"})
    assert second.text.lstrip().startswith('<section id="availability"')  # the fragment
    assert len(re.findall(rows, second.text)) == 10
    every = re.findall(rows, first) + re.findall(rows, second.text)
    assert len(set(every)) == 60  # every domain on one of the two pages, none twice
    past_the_end = client.get("/planning/availability?page=99").text
    assert "Page 2 of 2" in past_the_end


def test_availability_counts_todays_sent_mail_with_the_queued_against_the_allowance(
    app: Flask,
) -> None:
    """One count per domain-day: sent and in flight today plus queued for today, against
    the day's allowance, as the planner, the calendar and the overview count it."""
    seed_default_domains()
    now = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)  # a Tuesday, 14:00 in Amsterdam
    today = "2026-12-01"
    v1, v2, v4 = get_domain(V1), get_domain(V2), get_domain(V4)
    assert v1 is not None and v2 is not None and v4 is not None
    v4.timezone = "Europe/London"  # its days are not the booking summary's: read from mail
    for domain, sent, sending, queued in ((V1, 18, 0, 4), (V2, 3, 1, 2), (V4, 2, 1, 1)):
        campaign = make_campaign(domain=domain, status="running")
        for k in range(sent):
            at = now - timedelta(minutes=10 * k + 5)
            make_message(campaign, make_lead(), domain_used=domain, status="sent",
                         scheduled_at=at, sent_at=at + timedelta(seconds=30))  # fmt: skip
        for _ in range(sending):
            make_message(campaign, make_lead(), domain_used=domain, status="sending",
                         scheduled_at=now - timedelta(minutes=1))  # fmt: skip
        for k in range(queued):
            make_message(campaign, make_lead(), domain_used=domain,
                         scheduled_at=now + timedelta(minutes=20 * (k + 1)))  # fmt: skip
        make_message(campaign, make_lead(), domain_used=domain, status="canceled",
                     scheduled_at=now + timedelta(minutes=3))  # fmt: skip
    v1.daily_cap = 10  # lowered below what went out today
    db.session.flush()

    rows = {row["domain"]: row for row in domain_availability(now)}

    assert (rows[V1]["booked"][today], rows[V1]["capacity"][today]) == (22, 10)
    assert (rows[V2]["booked"][today], rows[V2]["capacity"][today]) == (6, 27)
    assert rows[V4]["booked"][today] == 4
    # Today is spent: v1's next free slot is on a later day.
    assert rows[V1]["next_free_slot"] > "2026-12-01T23:00:00+00:00"
