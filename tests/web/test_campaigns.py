"""The campaign pages: the list, the wizard, a campaign, its messages, its actions, editing."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_lead, make_template
from tests.support.dry_runs import calculated
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Campaign, Message
from webapp.services.campaigns.lifecycle import apply_action, create_campaign
from webapp.services.domains import seed_default_domains
from webapp.web.campaigns.forms import STEP_FIELDS, hidden_fields, read_state

HTMX = {"HX-Request": "true"}


@pytest.fixture
def setup(app: Flask) -> dict[str, Any]:
    seed_default_domains()
    template = make_template(steps=2, name="Kennismaking")
    leads = [make_lead(list_name="mkb") for _ in range(4)]
    make_lead(list_name="mkb", domain=leads[0].domain, email=f"jan@{leads[0].domain}")
    make_lead(list_name="horeca")
    db.session.commit()
    return {"template": template, "leads": leads}


@pytest.fixture
def marketer(login_as: Callable[[str], FlaskClient]) -> FlaskClient:
    return login_as("marketer")


def campaign_in(setup: dict[str, Any], status: str = "draft", **overrides: Any) -> Campaign:
    from webapp.database import utcnow

    body = {
        "name": overrides.pop("name", "Voorjaar"),
        "template_id": setup["template"].id,
        "audience": {"list_names": ["mkb"]},
    }
    campaign = create_campaign(body, None, utcnow())
    if status != "draft":
        apply_action(campaign, "start", None, utcnow())
    if status in ("paused", "stopped"):
        apply_action(campaign, "pause" if status == "paused" else "stop", None, utcnow())
    db.session.commit()
    return campaign


def field_value(html: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="([^"]*)"', html)


def wizard_post(client: FlaskClient, data: dict[str, Any]) -> Any:
    return client.post("/campaigns/new", data={"csrf_token": client.csrf, **data})  # type: ignore[attr-defined]


# -- the list ---------------------------------------------------------------------------


def test_the_list_shows_campaigns_and_filters_by_status(
    setup: dict[str, Any], marketer: FlaskClient
) -> None:
    draft = campaign_in(setup, name="Concept")
    running = campaign_in(setup, "running", name="Lopend")
    page = marketer.get("/campaigns/")
    assert page.status_code == 200
    assert "Concept" in page.text and "Lopend" in page.text
    assert 'aria-current="page"' in page.text and ">Campaigns<" in page.text
    fragment = marketer.get("/campaigns/?status=running", headers=HTMX)
    assert fragment.text.lstrip().startswith('<div id="campaigns-table"')
    assert f"campaign-{running.id}" in fragment.text
    assert f"campaign-{draft.id}" not in fragment.text
    assert "0 / 10 sent" in fragment.text


# -- the wizard -------------------------------------------------------------------------


def test_the_wizard_goes_from_a_name_to_a_draft(
    setup: dict[str, Any], marketer: FlaskClient
) -> None:
    first = marketer.get("/campaigns/new")
    assert first.status_code == 200
    assert 'data-step="name"' in first.text

    empty = wizard_post(marketer, {"step": "name", "go": "next", "name": " "})
    assert empty.status_code == 422
    assert 'id="name-error"' in empty.text

    state = {"name": "Voorjaar mkb"}
    page = wizard_post(marketer, {"step": "name", "go": "next", **state})
    assert 'data-step="template"' in page.text
    assert "Mail 1 voor [company]" in page.text  # the steps, previewed

    no_template = wizard_post(marketer, {"step": "template", "go": "next", **state})
    assert no_template.status_code == 422 and 'id="template_id-error"' in no_template.text

    state["template_id"] = setup["template"].id
    page = wizard_post(marketer, {"step": "template", "go": "next", **state})
    assert 'data-step="audience"' in page.text
    assert field_value(page.text, "name") == ["Voorjaar mkb"]  # carried along

    no_list = wizard_post(marketer, {"step": "audience", "go": "next", **state})
    assert no_list.status_code == 422 and 'id="list_names-error"' in no_list.text

    audience = {"list_names": "mkb", "one_per_domain": ["off", "on"]}
    page = wizard_post(marketer, {"step": "audience", "go": "next", **state, **audience})
    assert 'data-step="schedule"' in page.text

    back = wizard_post(marketer, {"step": "schedule", "go": "back", **state, **audience})
    assert 'data-step="audience"' in back.text
    assert re.search(r'value="mkb" checked', back.text)
    assert re.search(r'id="field-one_per_domain" checked', back.text)
    assert re.search(r'id="funnel-selected"><strong>4<', back.text)

    day = (utcnow() + timedelta(days=60)).date()
    start = datetime.combine(day, time(10), tzinfo=ZoneInfo("Europe/Amsterdam"))
    schedule = {"start_date": day.isoformat(), "start_time": "10:00", "followup_days": "4"}
    page = wizard_post(marketer, {"step": "schedule", "go": "next", **state, **audience,
                                  **schedule})  # fmt: skip
    assert 'data-step="dry_run"' in page.text
    assert 'id="dry-run"' in page.text and 'id="dry-run-chart"' in page.text

    created = wizard_post(marketer, {"step": "dry_run", "go": "create", **state, **audience,
                                     **schedule})  # fmt: skip
    assert created.status_code == 303
    db.session.expire_all()
    campaign = db.session.query(Campaign).one()
    assert created.location.endswith(f"/campaigns/{campaign.id}")
    assert (campaign.name, campaign.status, campaign.followup_days) == ("Voorjaar mkb", "draft", 4)
    assert campaign.start_at == start.astimezone(UTC)  # 10:00 in Amsterdam
    assert campaign.audience.one_per_domain is True
    assert len(campaign.audience.lead_ids) == 4


def test_a_schedule_in_the_past_is_refused_next_to_the_date(
    setup: dict[str, Any], marketer: FlaskClient
) -> None:
    state = {"name": "X", "template_id": setup["template"].id, "list_names": "mkb"}
    page = wizard_post(
        marketer,
        {"step": "schedule", "go": "next", "start_date": "2001-01-01", "followup_days": "-1",
         "domain_mode": "chosen", **state},
    )  # fmt: skip
    assert page.status_code == 422
    for field in ("start_date", "followup_days", "domains"):
        assert f'id="{field}-error"' in page.text


def test_hidden_fields_carry_every_value_of_the_other_steps() -> None:
    from werkzeug.datastructures import MultiDict

    form = MultiDict(
        [("name", "A"), ("list_names", "x"), ("list_names", "y"), ("only_complete", "off"),
         ("one_per_domain", "off"), ("one_per_domain", "on"), ("domains", "v1.nl")]
    )  # fmt: skip
    state = read_state(form)
    assert state["only_complete"] is False and state["one_per_domain"] is True
    carried = MultiDict(hidden_fields(state, STEP_FIELDS["name"]))
    assert read_state(MultiDict([("name", "A"), *carried.items(multi=True)])) == state


def test_the_funnel_fragment_follows_the_switches(
    setup: dict[str, Any], marketer: FlaskClient
) -> None:
    def selected(**form: Any) -> str:
        response = marketer.post(
            "/campaigns/audience-preview",
            data={"list_names": "mkb", **form},
            headers={**HTMX, "X-CSRFToken": marketer.csrf},  # type: ignore[attr-defined]
        )
        assert response.status_code == 200
        assert response.text.lstrip().startswith('<section id="audience-preview"')
        match = re.search(r'id="funnel-selected"><strong>(\d+)<', response.text)
        assert match, response.text
        return match.group(1)

    assert selected(one_per_domain="off") == "5"
    assert selected(one_per_domain="on") == "4"


# -- one campaign -----------------------------------------------------------------------


def test_a_draft_page_shows_settings_funnel_and_dry_run(
    setup: dict[str, Any], marketer: FlaskClient
) -> None:
    campaign = campaign_in(setup)
    page = marketer.get(f"/campaigns/{campaign.id}")
    assert page.status_code == 200
    for part in ('id="campaign-settings"', 'id="audience-funnel"', 'id="dry-run"',
                 'id="action-start"', 'id="action-edit"'):  # fmt: skip
        assert part in page.text, part
    assert 'id="campaign-messages"' not in page.text


@pytest.mark.parametrize(
    ("status", "buttons"),
    [
        ("draft", ["start", "edit", "duplicate", "delete"]),
        ("running", ["pause", "stop", "edit", "duplicate"]),
        ("paused", ["resume", "stop", "edit", "duplicate"]),
        ("completed", ["duplicate", "archive"]),
        ("stopped", ["duplicate", "archive"]),
    ],
)
def test_a_campaign_offers_only_the_actions_its_status_allows(
    setup: dict[str, Any], marketer: FlaskClient, status: str, buttons: list[str]
) -> None:
    campaign = campaign_in(setup, "running" if status == "completed" else status)
    if status == "completed":
        db.session.execute(
            sa.update(Message).where(Message.campaign_id == campaign.id).values(status="sent")
        )
        campaign.status = "completed"
        db.session.commit()

    page = marketer.get(f"/campaigns/{campaign.id}").text

    assert re.findall(r'id="action-(\w+)"', page) == buttons


def test_starting_from_the_page_and_a_second_start_gets_a_clear_message(
    setup: dict[str, Any], marketer: FlaskClient
) -> None:
    campaign = campaign_in(setup)
    data = {"csrf_token": marketer.csrf}  # type: ignore[attr-defined]
    response = marketer.post(f"/campaigns/{campaign.id}/start", data=data)
    assert response.status_code == 303
    page = marketer.get(response.location)
    assert "Started" in page.text and 'data-status="running"' in page.text
    assert 'id="campaign-messages"' in page.text and 'id="progress-queued">10<' in page.text

    again = marketer.post(f"/campaigns/{campaign.id}/start", data=data, follow_redirects=True)
    assert again.status_code == 200
    assert "Cannot start this campaign: it is running" in again.text


def test_the_messages_table_filters_and_pages_with_htmx(
    setup: dict[str, Any], marketer: FlaskClient
) -> None:
    for _ in range(30):
        make_lead(list_name="mkb")
    db.session.commit()
    campaign = campaign_in(setup, "running")  # 35 leads x 2 mails
    fragment = marketer.get(f"/campaigns/{campaign.id}/messages", headers=HTMX)
    assert fragment.text.lstrip().startswith('<div id="campaign-messages"')
    assert "70 messages" in fragment.text
    assert fragment.text.count('<tr id="message-') == 50
    assert 'id="messages-next"' in fragment.text
    second = marketer.get(f"/campaigns/{campaign.id}/messages?page=2", headers=HTMX)
    assert second.text.count('<tr id="message-') == 20
    assert "51\u201370 of 70 messages" in second.text
    assert 'rel="prev"' in second.text and 'rel="next"' not in second.text
    filtered = marketer.get(f"/campaigns/{campaign.id}/messages?mail_number=2", headers=HTMX)
    assert "35 messages" in filtered.text
    none = marketer.get(f"/campaigns/{campaign.id}/messages?status=sent", headers=HTMX)
    assert "No messages match these filters" in none.text


def test_editing_a_draft_saves_and_bad_input_shows_next_to_the_field(
    setup: dict[str, Any], marketer: FlaskClient
) -> None:
    campaign = campaign_in(setup)
    form = marketer.get(f"/campaigns/{campaign.id}/edit")
    assert form.status_code == 200 and 'id="audience-builder"' in form.text
    data = {
        "csrf_token": marketer.csrf,  # type: ignore[attr-defined]
        "name": "Horeca",
        "template_id": setup["template"].id,
        "list_names": "horeca",
        "followup_days": "5",
        "start_date": "",
    }
    bad = marketer.post(f"/campaigns/{campaign.id}/edit", data={**data, "followup_days": "x"})
    assert bad.status_code == 422 and 'id="followup_days-error"' in bad.text
    saved = marketer.post(f"/campaigns/{campaign.id}/edit", data=data)
    assert saved.status_code == 303
    db.session.expire_all()
    campaign = db.session.get(Campaign, campaign.id)
    assert (campaign.name, campaign.followup_days, campaign.start_at) == ("Horeca", 5, None)
    assert campaign.audience.list_names == ["horeca"]


def test_editing_a_running_campaign_changes_only_name_and_follow_ups(
    setup: dict[str, Any], marketer: FlaskClient
) -> None:
    campaign = campaign_in(setup, "running")
    form = marketer.get(f"/campaigns/{campaign.id}/edit")
    assert 'id="audience-builder"' not in form.text
    response = marketer.post(
        f"/campaigns/{campaign.id}/edit",
        data={
            "csrf_token": marketer.csrf,  # type: ignore[attr-defined]
            "name": "Nieuw",
            "followup_enabled": "off",
            "followup_days": "3",
            "list_names": "horeca",
        },
    )
    assert response.status_code == 303
    db.session.expire_all()
    campaign = db.session.get(Campaign, campaign.id)
    assert campaign.name == "Nieuw" and campaign.followup_enabled is False
    assert campaign.audience.list_names == ["mkb"]
    queued = db.session.query(Message).filter_by(campaign_id=campaign.id, status="queued").count()
    assert queued == 5


def test_a_manager_sees_campaigns_without_actions(
    setup: dict[str, Any], login_as: Callable[[str], FlaskClient]
) -> None:
    campaign = campaign_in(setup)
    manager = login_as("manager")
    page = manager.get(f"/campaigns/{campaign.id}")
    assert page.status_code == 200 and 'id="action-start"' not in page.text
    assert 'id="new-campaign"' not in manager.get("/campaigns/").text
    refused = manager.post(
        f"/campaigns/{campaign.id}/start",
        data={"csrf_token": manager.csrf},  # type: ignore[attr-defined]
    )
    assert refused.status_code == 403


def test_an_unknown_campaign_is_404(setup: dict[str, Any], marketer: FlaskClient) -> None:
    assert marketer.get("/campaigns/nope").status_code == 404


def test_a_schedule_years_ahead_is_refused_next_to_the_date(
    setup: dict[str, Any], marketer: FlaskClient
) -> None:
    state = {"name": "X", "template_id": setup["template"].id, "list_names": "mkb"}
    for day in ("9999-12-31", (utcnow() + timedelta(days=400)).date().isoformat()):
        page = wizard_post(
            marketer,
            {"step": "schedule", "go": "next", "start_date": day, "start_time": "23:59", **state},
        )
        assert page.status_code == 422
        assert 'id="start_date-error"' in page.text
    assert db.session.query(Campaign).count() == 0


@pytest.mark.parametrize("year", [9999, 1])
def test_a_stored_start_at_the_edge_of_time_still_shows_every_page(
    setup: dict[str, Any], marketer: FlaskClient, year: int
) -> None:
    """Values written before the range check (or by hand) must not break a page for anyone."""
    from tests.factories import make_campaign

    edge = (
        datetime(year, 12, 31, 23, 59, tzinfo=UTC)
        if year == 9999
        else datetime(1, 1, 1, tzinfo=UTC)
    )
    draft = make_campaign(template_id=setup["template"].id, start_at=edge)
    running = make_campaign(template_id=setup["template"].id, start_at=edge, status="running")
    db.session.commit()
    pages = ["/", "/campaigns/", f"/campaigns/{draft.id}", f"/campaigns/{draft.id}/edit"]
    pages += [f"/campaigns/{running.id}", "/calendar", "/planning/availability"]
    for url in pages:
        assert marketer.get(url).status_code == 200, url
    # The dry run is made by a job: the page waits for it (and the job ends in the test).
    assert calculated(marketer, f"/planning/campaigns/{draft.id}/dry-run").status_code == 200


# -- in Dutch ---------------------------------------------------------------------------

# A submit button's value is what the form posts, never shown: not text to translate.
FORM_VALUES = {"next", "back", "create", "step:"}


def test_the_campaign_pages_read_in_dutch(
    dutch: None, setup: dict[str, Any], login_as: Callable[[str], FlaskClient]
) -> None:
    marketer = login_as("marketer")
    draft = campaign_in(setup, name="Concept mkb")
    running = campaign_in(setup, "running", name="Lopend mkb")

    listing = marketer.get("/campaigns/").text
    assert "Nieuwe campagne" in listing and "Voortgang" in listing
    assert ">lopend</span>" in listing and ">concept</span>" in listing
    assert 'data-status="running"' in listing  # the raw value stays for scripts and styles
    assert "0 / 10 verzonden" in listing
    assert '<option value="paused" >gepauzeerd</option>' in listing
    assert (
        "Nog geen campagnes met de status “gestopt”."
        in marketer.get("/campaigns/?status=stopped", headers=HTMX).text
    )

    page = marketer.get(f"/campaigns/{running.id}").text
    expected = ["Verzenddomeinen", "in de wachtrij", "Planning", "1\u201310 van 10 berichten",
                ">Pauzeren</button>", ">Stoppen</button>", "aan, 3 werkdagen ertussen"]  # fmt: skip
    for text in expected:
        assert text in page, text
    assert ">in de wachtrij</span>" in page  # a message's status
    assert (
        "Geen berichten die aan deze filters voldoen."
        in marketer.get(f"/campaigns/{running.id}/messages?status=sent", headers=HTMX).text
    )

    started = marketer.post(
        f"/campaigns/{draft.id}/start",
        data={"csrf_token": marketer.csrf},  # type: ignore[attr-defined]
        follow_redirects=True,
    )
    assert "“Concept mkb” gestart: de berichten staan in de wachtrij." in started.text

    wizard = marketer.get("/campaigns/new").text
    assert "Stap 1 van 5: Naam" in wizard and "Volgende: Sjabloon" in wizard
    state = {"name": "X", "template_id": setup["template"].id, "list_names": "mkb"}
    refused = wizard_post(
        marketer, {"step": "schedule", "go": "next", **state, "start_date": "2000-01-03"}
    )
    assert "kies vandaag of een latere dag" in refused.text

    edit = marketer.get(f"/campaigns/{running.id}/edit").text
    assert "Deze campagne is lopend" in edit and "Opslaan" in edit


def test_every_status_has_a_label_and_no_campaign_template_bypasses_the_catalog() -> None:
    from pathlib import Path

    from tests.support.untranslated import untranslated_in_python, untranslated_in_template
    from webapp.models.campaigns import CAMPAIGN_STATUSES
    from webapp.models.messages import MESSAGE_STATUSES
    from webapp.web.labels import CAMPAIGN_STATUS_LABELS, MESSAGE_STATUS_LABELS

    assert set(CAMPAIGN_STATUS_LABELS) == set(CAMPAIGN_STATUSES)
    assert set(MESSAGE_STATUS_LABELS) == set(MESSAGE_STATUSES)
    root = Path(__file__).resolve().parents[2]
    for folder in ("campaigns", "planning"):
        for path in sorted((root / "templates" / folder).glob("*.html")):
            left = [text for text in untranslated_in_template(path) if text not in FORM_VALUES]
            assert not left, (path.name, left)
        for path in sorted((root / "webapp" / "web" / folder).glob("*.py")):
            assert not untranslated_in_python(path), path.name
