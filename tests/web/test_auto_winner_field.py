"""The automatic winner's setting on the pages: the wizard's schedule step and a live
campaign's edit page take `auto_winner_min_sends`, keep it, show it and name it when wrong."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from tests.web import test_campaigns_api
from tests.web.test_campaigns_api import new_campaign
from webapp.extensions import db
from webapp.models import Campaign

setup = pytest.fixture(test_campaigns_api.setup.__wrapped__, name="setup")
api = pytest.fixture(test_campaigns_api.api.__wrapped__, name="api")


def _wizard_state(setup: dict[str, Any], **fields: str) -> dict[str, str]:
    return {
        "name": "Proef",
        "template_id": setup["template"].id,
        "list_names": "mkb",
        "followup_days": "3",
        **fields,
    }


def _post(client: FlaskClient, step: str, go: str, state: dict[str, str]) -> Any:
    data = {"csrf_token": client.csrf, "step": step, "go": go, **state}  # type: ignore[attr-defined]
    return client.post("/campaigns/new", data=data)


def test_the_wizard_shows_the_field_with_its_hint_and_keeps_the_number(
    setup: dict[str, Any], login_as: Any
) -> None:
    client: FlaskClient = login_as("marketer")
    schedule = _post(client, "audience", "next", _wizard_state(setup))
    assert 'data-step="schedule"' in schedule.text
    assert 'name="auto_winner_min_sends" id="field-auto_winner_min_sends"' in schedule.text
    assert "Empty: declare winners yourself." in schedule.text

    state = _wizard_state(setup, auto_winner_min_sends="200")
    dry_run = _post(client, "schedule", "next", state)
    assert 'data-step="dry_run"' in dry_run.text
    # Carried past the schedule step in a hidden field, so the last step still has it.
    assert 'name="auto_winner_min_sends" value="200"' in dry_run.text
    created = _post(client, "dry_run", "create", state)
    assert created.status_code == 303
    campaign = db.session.execute(sa.select(Campaign)).scalar_one()
    assert campaign.auto_winner_min_sends == 200


def test_the_wizard_leaves_it_empty_by_default(setup: dict[str, Any], login_as: Any) -> None:
    client: FlaskClient = login_as("marketer")
    assert _post(client, "dry_run", "create", _wizard_state(setup)).status_code == 303
    assert db.session.execute(sa.select(Campaign)).scalar_one().auto_winner_min_sends is None


@pytest.mark.parametrize("value", ["0", "veel", "2000000"])
def test_a_bad_number_in_the_wizard_is_named_on_the_schedule_step(
    setup: dict[str, Any], login_as: Any, value: str
) -> None:
    client: FlaskClient = login_as("marketer")
    page = _post(client, "dry_run", "create", _wizard_state(setup, auto_winner_min_sends=value))
    assert page.status_code == 422
    assert 'data-step="schedule"' in page.text
    assert 'id="field-auto_winner_min_sends"' in page.text
    assert 'name="auto_winner_min_sends" id="field-auto_winner_min_sends" min="1"' in page.text
    assert 'aria-invalid="true"' in page.text.split('id="field-auto_winner_min_sends"')[1][:300]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 0


def test_a_live_campaign_sets_and_clears_it_on_its_edit_page(
    api: Any, setup: dict[str, Any], login_as: Any
) -> None:
    made = new_campaign(api, setup)
    assert api("POST", f"/campaigns/{made['id']}/start").status_code == 200
    client: FlaskClient = login_as("marketer")
    edit = client.get(f"/campaigns/{made['id']}/edit")
    assert 'id="field-auto_winner_min_sends" min="1" max="1000000" value=""' in edit.text
    form = {"csrf_token": client.csrf, "name": "Voorjaar", "followup_enabled": "on"}  # type: ignore[attr-defined]
    form["followup_days"] = "3"
    url = f"/campaigns/{made['id']}/edit"

    saved = client.post(url, data={**form, "auto_winner_min_sends": "150"})
    assert saved.status_code == 303
    campaign = db.session.get(Campaign, made["id"])
    assert campaign is not None and campaign.auto_winner_min_sends == 150
    shown = client.get(f"/campaigns/{made['id']}/edit").text
    assert 'id="field-auto_winner_min_sends" min="1" max="1000000" value="150"' in shown

    wrong = client.post(url, data={**form, "auto_winner_min_sends": "0"})
    assert wrong.status_code == 422
    assert "must be between 1 and" in wrong.text
    db.session.expire_all()
    assert db.session.get(Campaign, made["id"]).auto_winner_min_sends == 150  # type: ignore[union-attr]

    cleared = client.post(url, data={**form, "auto_winner_min_sends": ""})
    assert cleared.status_code == 303
    db.session.expire_all()
    assert db.session.get(Campaign, made["id"]).auto_winner_min_sends is None  # type: ignore[union-attr]
