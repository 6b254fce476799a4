"""Sending domains: the API, the admin page and the CLI, secrets never shown."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.untranslated import ROOT, untranslated_in_template
from webapp.extensions import db
from webapp.services.domains import get_domain, seed_default_domains, slots_per_day

SECRET = "s3cret-smtp-password"


@pytest.fixture
def domains(app: Flask) -> None:
    seed_default_domains()
    db.session.commit()


def test_seed_creates_the_four_default_domains_once(app: Flask) -> None:
    assert len(seed_default_domains()) == 4
    assert seed_default_domains() == []
    v3 = get_domain("punthelder-seo.nl")
    assert v3 is not None
    assert v3.label == "v3"
    assert [a["alias"] for a in v3.aliases] == ["christian", "victor"]
    assert v3.interval_seconds == 1200
    assert v3.working_days == [1, 2, 3, 4, 5]
    assert v3.timezone == "Europe/Amsterdam"
    assert v3.skip_holidays is True
    assert slots_per_day(v3) == 27  # 09:00, 09:20, ..., 17:40


def test_api_lists_domains_without_secrets(domains: None, api_client: Any) -> None:
    client, headers = api_client("manager")
    domain = get_domain("punthelder-seo.nl")
    domain.smtp_password = SECRET
    db.session.commit()
    response = client.get("/api/v1/domains", headers=headers)
    assert response.status_code == 200
    names = [d["name"] for d in response.json]
    assert names == [
        "punthelder-vindbaarheid.nl",
        "punthelder-marketing.nl",
        "punthelder-seo.nl",
        "punthelder-zoekmachine.nl",
    ]
    assert SECRET not in response.text
    assert "smtp_password" not in response.json[2]
    assert response.json[2]["smtp_password_set"] is True
    assert response.json[2]["window_start"] == "09:00"


def test_admin_patches_a_domain(domains: None, api_client: Any) -> None:
    client, headers = api_client("admin")
    response = client.patch(
        "/api/v1/domains/punthelder-seo.nl",
        headers=headers,
        json={
            "interval_seconds": 600,
            "window_start": "08:30",
            "window_end": "17:00",
            "working_days": [1, 2, 3, 4],
            "aliases": [{"alias": "Anna", "display_name": "Anna de Boer"}],
            "smtp_host": "smtp.example.nl",
            "smtp_port": 465,
            "smtp_tls": "ssl",
            "smtp_password": SECRET,
            "paused": True,
        },
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["interval_seconds"] == 600
    assert (body["window_start"], body["window_end"]) == ("08:30", "17:00")
    assert body["working_days"] == [1, 2, 3, 4]
    assert body["aliases"] == [{"alias": "anna", "display_name": "Anna de Boer"}]
    assert body["paused"] is True
    assert SECRET not in response.text
    db.session.expire_all()
    assert get_domain("punthelder-seo.nl").smtp_password == SECRET


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"interval_seconds": 0}, "interval_seconds"),
        ({"interval_seconds": 86401}, "interval_seconds"),
        ({"interval_seconds": "soon"}, "interval_seconds"),
        ({"window_start": "25:00"}, "window_start"),
        ({"window_start": "18:00", "window_end": "09:00"}, "window_end"),
        ({"working_days": []}, "working_days"),
        ({"working_days": [0, 8]}, "working_days"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"aliases": [{"alias": "a b", "display_name": "X"}]}, "aliases"),
        ({"aliases": [{"alias": "ok", "display_name": "Evil\r\nBcc: x"}]}, "aliases"),
        ({"smtp_port": 70000}, "smtp_port"),
        ({"smtp_tls": "maybe"}, "smtp_tls"),
        ({"smtp_host": "bad host\n"}, "smtp_host"),
        ({"nonsense": 1}, "nonsense"),
        ({"daily_cap": 0}, "daily_cap"),
        ({"daily_cap": "many"}, "daily_cap"),
        ({"ramp_start": -5}, "ramp_start"),
        ({"ramp_step": -1}, "ramp_step"),
        ({"ramp_step": 5}, "ramp_step"),  # a step without a ramp does nothing
        ({"daily_cap": 20, "ramp_start": 20}, "ramp_start"),  # the ramp would start at the cap
        ({"tracking_host": "https://t.punthelder-seo.nl"}, "tracking_host"),
        ({"tracking_host": "t.punthelder-seo.nl:8080"}, "tracking_host"),
        ({"tracking_host": "t.elsewhere.nl"}, "tracking_host"),
        ({"tracking_host": "punthelder-seo.nl"}, "tracking_host"),
    ],
)
def test_invalid_settings_get_422_naming_the_field(
    domains: None, api_client: Any, changes: dict[str, Any], field: str
) -> None:
    client, headers = api_client("admin")
    before = client.get("/api/v1/domains/punthelder-seo.nl", headers=headers).json
    response = client.patch("/api/v1/domains/punthelder-seo.nl", headers=headers, json=changes)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    after = client.get("/api/v1/domains/punthelder-seo.nl", headers=headers).json
    assert after == before  # nothing half-saved


def test_warm_up_and_tracking_host_are_settings(domains: None, api_client: Any) -> None:
    client, headers = api_client("admin")
    response = client.patch(
        "/api/v1/domains/punthelder-seo.nl",
        headers=headers,
        json={
            "daily_cap": 120,
            "ramp_start": 10,
            "ramp_step": 5,
            "tracking_host": "T.Punthelder-SEO.nl.",
        },
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["daily_cap"], body["ramp_start"], body["ramp_step"]) == (120, 10, 5)
    assert body["ramp_started_on"] is None  # a new ramp starts with the first mail sent
    assert body["tracking_host"] == "t.punthelder-seo.nl"

    # A tracking host serves one domain only.
    response = client.patch(
        "/api/v1/domains/punthelder-marketing.nl",
        headers=headers,
        json={"tracking_host": "t.punthelder-seo.nl"},
    )
    assert response.status_code == 422
    assert "tracking_host" in response.json["error"]["fields"]

    # Empty values switch the cap, the ramp and the host off again.
    response = client.patch(
        "/api/v1/domains/punthelder-seo.nl",
        headers=headers,
        json={"daily_cap": None, "ramp_start": "", "tracking_host": ""},
    )
    body = response.json
    assert (body["daily_cap"], body["ramp_start"], body["ramp_started_on"]) == (None, None, None)
    assert body["tracking_host"] is None


def test_only_what_changes_is_recorded_in_the_audit_trail(domains: None, api_client: Any) -> None:
    import sqlalchemy as sa

    from webapp.models import AuditEvent

    client, headers = api_client("admin")

    def recorded() -> list[dict[str, Any]]:
        return [
            e.details
            for e in db.session.scalars(
                sa.select(AuditEvent)
                .where(AuditEvent.action == "domain.updated")
                .order_by(AuditEvent.created_at)
            )
        ]

    body = {"interval_seconds": 1200, "label": "v3", "daily_cap": 50}
    assert (
        client.patch("/api/v1/domains/punthelder-seo.nl", headers=headers, json=body).status_code
        == 200
    )
    assert recorded() == [{"daily_cap": 50}]  # interval and label were already so
    assert (
        client.patch("/api/v1/domains/punthelder-seo.nl", headers=headers, json=body).status_code
        == 200
    )
    assert len(recorded()) == 1  # nothing changed, nothing recorded


def test_a_body_that_is_not_a_json_object_gets_400(domains: None, api_client: Any) -> None:
    client, headers = api_client("admin")
    response = client.patch(
        "/api/v1/domains/punthelder-seo.nl", headers=headers, data="interval_seconds=5"
    )
    assert response.status_code == 400
    response = client.patch("/api/v1/domains/punthelder-seo.nl", headers=headers, json=[1])
    assert response.status_code == 400


def test_unknown_domain_gets_404(domains: None, api_client: Any) -> None:
    client, headers = api_client("admin")
    response = client.patch("/api/v1/domains/nope.nl", headers=headers, json={"paused": True})
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_a_marketer_may_not_change_domains(domains: None, api_client: Any) -> None:
    client, headers = api_client("marketer")
    response = client.patch(
        "/api/v1/domains/punthelder-seo.nl", headers=headers, json={"paused": True}
    )
    assert response.status_code == 403


def test_admin_edits_a_domain_on_the_page(
    domains: None, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("admin")
    page = client.get("/domains/punthelder-seo.nl/edit")
    assert page.status_code == 200
    form = {
        "csrf_token": client.csrf,
        "label": "v3",
        "interval_seconds": "900",
        "window_start": "09:00",
        "window_end": "17:00",
        "timezone": "Europe/Amsterdam",
        "working_days": ["1", "2", "3", "4", "5"],
        "skip_holidays": "on",
        "aliases": "christian = Christian\nvictor = Victor",
        "smtp_host": "smtp.example.nl",
        "smtp_port": "587",
        "smtp_tls": "starttls",
        "smtp_user": "mailer",
        "smtp_password": SECRET,
        "imap_port": "993",
        "imap_folder": "INBOX",
    }
    response = client.post("/domains/punthelder-seo.nl/edit", data=form)
    assert response.status_code == 302
    db.session.expire_all()
    domain = get_domain("punthelder-seo.nl")
    assert domain.interval_seconds == 900
    assert domain.smtp_password == SECRET

    # The secret is never rendered back; leaving the field empty keeps it.
    page = client.get("/domains/punthelder-seo.nl/edit")
    assert SECRET not in page.text
    assert "stored; leave empty to keep" in page.text
    form["smtp_password"] = ""
    form["interval_seconds"] = "1200"
    assert client.post("/domains/punthelder-seo.nl/edit", data=form).status_code == 302
    db.session.expire_all()
    assert get_domain("punthelder-seo.nl").smtp_password == SECRET


def test_invalid_page_edit_shows_the_field_error_and_saves_nothing(
    domains: None, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("admin")
    response = client.post(
        "/domains/punthelder-seo.nl/edit",
        data={
            "csrf_token": client.csrf,
            "interval_seconds": "0",
            "window_start": "09:00",
            "window_end": "18:00",
            "timezone": "Europe/Amsterdam",
            "working_days": ["1"],
            "aliases": "christian = Christian",
            "smtp_port": "587",
            "smtp_tls": "starttls",
            "imap_port": "993",
            "imap_folder": "INBOX",
        },
    )
    assert response.status_code == 422
    assert 'id="interval_seconds-error"' in response.text
    db.session.expire_all()
    assert get_domain("punthelder-seo.nl").interval_seconds == 1200


def test_marketers_see_domains_but_not_the_edit_page(
    domains: None, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    page = client.get("/domains/")
    assert page.status_code == 200
    assert "punthelder-zoekmachine.nl" in page.text
    assert "/edit" not in page.text
    assert client.get("/domains/punthelder-seo.nl/edit").status_code == 403


def test_pausing_a_domain_moves_the_queued_mail_of_running_campaigns(
    domains: None, api_client: Any
) -> None:
    import sqlalchemy as sa

    from tests.factories import make_lead
    from webapp.database import utcnow
    from webapp.demo.seed import template_steps
    from webapp.models import Campaign, CampaignAudience, Message, Template, TemplateStep
    from webapp.services.campaigns.lifecycle import apply_action

    template = Template(name="t", steps=[TemplateStep(**step) for step in template_steps()[:1]])
    db.session.add(template)
    db.session.flush()
    leads = [
        make_lead(
            vars={"company": "X", "url": "https://x.nl", "first_name": "Jan", "branche": "bouw"}
        )
        for _ in range(6)
    ]
    campaign = Campaign(
        name="c",
        template_id=template.id,
        domains=["punthelder-seo.nl", "punthelder-marketing.nl"],
        followup_enabled=False,
    )
    db.session.add(campaign)
    db.session.flush()
    db.session.add(CampaignAudience(campaign_id=campaign.id, lead_ids=[lead.id for lead in leads]))
    apply_action(campaign, "start", None, utcnow())
    db.session.commit()

    def on(domain: str) -> int:
        return db.session.execute(
            sa.select(sa.func.count()).where(
                Message.campaign_id == campaign.id,
                Message.domain_used == domain,
                Message.status == "queued",
            )
        ).scalar_one()

    assert on("punthelder-seo.nl") > 0
    client, headers = api_client("admin")
    response = client.patch(
        "/api/v1/domains/punthelder-seo.nl", headers=headers, json={"paused": True}
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert on("punthelder-seo.nl") == 0
    assert on("punthelder-marketing.nl") == 6


def test_a_lower_daily_cap_moves_the_queued_mail_of_running_campaigns(
    domains: None, api_client: Any
) -> None:
    from collections import Counter
    from zoneinfo import ZoneInfo

    import sqlalchemy as sa

    from tests.factories import make_lead
    from webapp.database import utcnow
    from webapp.demo.seed import template_steps
    from webapp.models import Campaign, CampaignAudience, Message, Template, TemplateStep
    from webapp.services.campaigns.lifecycle import apply_action

    template = Template(name="t", steps=[TemplateStep(**step) for step in template_steps()[:1]])
    db.session.add(template)
    db.session.flush()
    leads = [
        make_lead(
            vars={"company": "X", "url": "https://x.nl", "first_name": "Jan", "branche": "bouw"}
        )
        for _ in range(12)
    ]
    campaign = Campaign(
        name="c", template_id=template.id, domains=["punthelder-seo.nl"], followup_enabled=False
    )
    db.session.add(campaign)
    db.session.flush()
    db.session.add(CampaignAudience(campaign_id=campaign.id, lead_ids=[lead.id for lead in leads]))
    apply_action(campaign, "start", None, utcnow())
    db.session.commit()
    zone = ZoneInfo("Europe/Amsterdam")

    def per_day() -> Counter[Any]:
        times = db.session.scalars(
            sa.select(Message.scheduled_at).where(
                Message.campaign_id == campaign.id, Message.status == "queued"
            )
        )
        return Counter(moment.astimezone(zone).date() for moment in times)

    assert max(per_day().values()) > 3  # 27 slots a day: most of it fits on one day
    client, headers = api_client("admin")
    response = client.patch(
        "/api/v1/domains/punthelder-seo.nl", headers=headers, json={"daily_cap": 3}
    )
    assert response.status_code == 200, response.json
    db.session.expire_all()
    days = per_day()
    assert sum(days.values()) == 12  # every mail kept, none twice
    assert max(days.values()) <= 3
    assert len(days) >= 4


def test_the_pages_say_what_the_pace_asks_of_the_workers(
    domains: None, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("admin")
    # Four domains, one mail every 20 minutes each: 0.2 a minute together.
    page = client.get("/domains/")
    assert "send 0.2 mails a minute together" in " ".join(page.text.split())
    assert "Run at least" not in page.text

    for domain in ("punthelder-seo.nl", "punthelder-marketing.nl"):
        get_domain(domain).interval_seconds = 1
    db.session.commit()
    # An interval of a second is accepted, and the page says what it takes: 120 a minute
    # from those two, which one worker keeps up with.
    page = client.get("/domains/punthelder-seo.nl/edit")
    assert "send 120.1 mails a minute together" in " ".join(page.text.split())
    assert "Run at least" not in page.text

    form = {
        "csrf_token": client.csrf,
        "label": "v1",
        "interval_seconds": "1",
        "window_start": "09:00",
        "window_end": "18:00",
        "timezone": "Europe/Amsterdam",
        "working_days": ["1", "2", "3", "4", "5"],
        "aliases": "christian = Christian",
        "smtp_port": "587",
        "smtp_tls": "starttls",
        "imap_port": "993",
        "imap_folder": "INBOX",
    }
    for name in ("punthelder-vindbaarheid.nl", "punthelder-zoekmachine.nl"):
        response = client.post(f"/domains/{name}/edit", data=form, follow_redirects=True)
        assert response.status_code == 200
    # Four domains at a mail a second: 240 a minute, still one worker's work.
    assert "Run at least" not in response.text
    from tests.sending_support import make_domain

    for index in range(3):
        make_domain(f"extra{index}.nl", 2525, interval_seconds=1)
    db.session.commit()
    response = client.post("/domains/punthelder-seo.nl/edit", data=form, follow_redirects=True)
    text = " ".join(response.text.split())
    assert "now send 420 mails a minute: run at least 2 workers" in text
    assert "Run at least 2 workers" in text
    form["interval_seconds"] = "0"
    assert client.post("/domains/punthelder-zoekmachine.nl/edit", data=form).status_code == 422


def test_the_domains_pages_read_in_dutch(
    domains: None, dutch: None, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("admin")
    listing = client.get("/domains/").text
    assert "Verzenddomeinen" in listing and "Slots per dag" in listing
    assert "ma, di, wo, do, vr" in listing and "geen Nederlandse feestdagen" in listing
    assert ">actief</span>" in listing and ">Bewerken</a>" in listing
    assert "samen 0,2 mails per minuut" in " ".join(listing.split())

    page = client.get("/domains/punthelder-seo.nl/edit").text
    assert "Tijd tussen mails (seconden)" in page and "Werkdagen" in page
    assert "Nederlandse feestdagen overslaan" in page and ">geen versleuteling</option>" in page
    assert 'value="none"' in page  # the form still posts the raw mode
    form = {
        "csrf_token": client.csrf,
        "label": "v3",
        "interval_seconds": "1200",
        "window_start": "09:00",
        "window_end": "18:00",
        "timezone": "Europe/Amsterdam",
        "working_days": ["1", "2", "3", "4", "5"],
        "aliases": "christian = Christian",
        "smtp_port": "587",
        "smtp_tls": "starttls",
        "imap_port": "993",
        "imap_folder": "INBOX",
    }
    saved = client.post("/domains/punthelder-seo.nl/edit", data=form, follow_redirects=True)
    assert "De instellingen van punthelder-seo.nl zijn opgeslagen." in saved.text
    form["interval_seconds"] = "0"
    refused = client.post("/domains/punthelder-seo.nl/edit", data=form).text
    assert "Een paar instellingen kloppen niet; er is niets opgeslagen." in refused

    templates = sorted(
        path for area in ("domains",) for path in (ROOT / "templates" / area).glob("*.html")
    )
    assert [text for path in templates for text in untranslated_in_template(path)] == []


def test_the_domains_list_and_availability_show_the_window_and_the_cap_alike(
    domains: None, login_as: Callable[[str], FlaskClient]
) -> None:
    """A capped, ramping domain: both pages name the window's slots and the cap, and give
    today's allowance, rather than one page 27 and the other 20."""
    v3 = get_domain("punthelder-seo.nl")
    assert v3 is not None
    v3.daily_cap, v3.ramp_start, v3.ramp_step = 20, 5, 5
    db.session.commit()
    client = login_as("manager")

    shown = []
    for path, row_id in (("/domains/", "domain-v3"), ("/planning/availability", "availability-v3")):
        page = client.get(path).text
        row = page.split(f'<tr id="{row_id}"')[1].split("</tr>")[0]
        cells = [
            " ".join(re.sub(r"<[^>]+>", " ", cell).split())
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
            if "data-slots-window" in cell
        ]
        assert len(cells) == 1, path
        shown.append(cells[0].split(" warm-up")[0])
    assert shown[0] == shown[1] == "27 in the window · at most 20 a day · 5 today"

    # Without cap or ramp the cell is the window's number alone.
    page = client.get("/domains/").text
    row = page.split('<tr id="domain-v1"')[1].split("</tr>")[0]
    assert "<td>27</td>" in row and "in the window" not in row


def test_a_ramp_is_refused_where_it_would_do_nothing(domains: None, api_client: Any) -> None:
    client, headers = api_client("admin")
    url = "/api/v1/domains/punthelder-seo.nl"

    response = client.patch(url, headers=headers, json={"daily_cap": 20, "ramp_start": 25})
    assert response.status_code == 422
    reason = response.json["error"]["fields"]["ramp_start"]
    assert reason.startswith("the ramp would start at the cap") and "(25)" in reason

    assert client.patch(url, headers=headers, json={"ramp_step": 5}).status_code == 422
    response = client.patch(url, headers=headers, json={"ramp_start": "", "ramp_step": 5})
    assert "ramp_step" in response.json["error"]["fields"]

    ok = client.patch(url, headers=headers, json={"daily_cap": 20, "ramp_start": 5, "ramp_step": 5})
    assert ok.status_code == 200
    # Lowering the cap to the ramp's first day names the cap.
    response = client.patch(url, headers=headers, json={"daily_cap": 5})
    assert response.status_code == 422 and "daily_cap" in response.json["error"]["fields"]


def test_a_new_ramp_waits_for_the_first_mail_and_the_page_says_so(
    domains: None, login_as: Callable[[str], FlaskClient]
) -> None:
    from datetime import date

    v3 = get_domain("punthelder-seo.nl")
    assert v3 is not None
    v3.ramp_started_on = date(2026, 1, 5)  # an old ramp, switched off since
    db.session.commit()
    client = login_as("admin")
    form = client.get("/domains/punthelder-seo.nl/edit").text
    assert 'id="ramp-started"' not in form

    fields = {
        "csrf_token": client.csrf,
        "label": "v3",
        "interval_seconds": "1200",
        "window_start": "09:00",
        "window_end": "18:00",
        "working_days": ["1", "2", "3", "4", "5"],
        "timezone": "Europe/Amsterdam",
        "aliases": "christian = Christian\nvictor = Victor",
        "smtp_port": "587",
        "smtp_tls": "starttls",
        "imap_port": "993",
        "imap_folder": "INBOX",
        "daily_cap": "20",
        "ramp_start": "5",
        "ramp_step": "5",
    }
    response = client.post("/domains/punthelder-seo.nl/edit", data=fields)
    assert response.status_code == 302, response.text
    db.session.expire_all()
    v3 = get_domain("punthelder-seo.nl")
    assert v3 is not None and (v3.ramp_start, v3.ramp_started_on) == (5, None)

    form = client.get("/domains/punthelder-seo.nl/edit").text
    assert "The ramp starts with the first mail sent." in form
    listing = client.get("/domains/").text
    row = listing.split('<tr id="domain-v3"')[1].split("</tr>")[0]
    assert "starts with the first mail sent" in row
