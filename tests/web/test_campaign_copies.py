"""Duplicate a campaign as a new draft, delete a draft, archive a finished campaign."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.sending_support import make_domain, make_running_campaign
from tests.web import test_campaigns_api
from tests.web.test_campaigns_api import new_campaign
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import AuditEvent, Campaign, CampaignAudience, Message

# The API tests' world: a template, a list "mkb" of which five leads are selected.
setup = pytest.fixture(test_campaigns_api.setup.__wrapped__, name="setup")
api = pytest.fixture(test_campaigns_api.api.__wrapped__, name="api")


def _actions(subject_id: str) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.subject_id == subject_id)
            .order_by(AuditEvent.created_at)
        )
    )


def test_a_copy_is_a_new_draft_with_the_same_settings(api: Any, setup: dict[str, Any]) -> None:
    original = new_campaign(api, setup, followup_days=5, followup_enabled=False)
    assert api("POST", f"/campaigns/{original['id']}/start").status_code == 200

    response = api("POST", f"/campaigns/{original['id']}/duplicate")
    assert response.status_code == 201, response.json
    copy = response.json
    assert response.headers["Location"].endswith(f"/api/v1/campaigns/{copy['id']}")
    assert copy["id"] != original["id"]
    assert copy["status"] == "draft"
    assert copy["name"] == "Copy of Voorjaar"
    for field in ("template_id", "followup_enabled", "followup_days", "audience"):
        assert copy[field] == original[field], field
    assert copy["audience_size"] == original["audience_size"] == 5
    # Nothing of the original's mail comes along, and the original is untouched.
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Message).where(Message.campaign_id == copy["id"])
        )
        == 0
    )
    assert api("GET", f"/campaigns/{original['id']}").json["status"] == "running"
    assert _actions(copy["id"]) == ["campaign.duplicated"]


def test_only_a_draft_can_be_deleted(api: Any, setup: dict[str, Any]) -> None:
    draft = new_campaign(api, setup)
    started = new_campaign(api, setup, name="Gestart")
    api("POST", f"/campaigns/{started['id']}/start")

    refused = api("DELETE", f"/campaigns/{started['id']}")
    assert refused.status_code == 409
    assert "draft" in refused.json["error"]["message"]
    assert api("GET", f"/campaigns/{started['id']}").status_code == 200

    assert api("DELETE", f"/campaigns/{draft['id']}").status_code == 204
    assert api("GET", f"/campaigns/{draft['id']}").status_code == 404
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(CampaignAudience)
            .where(CampaignAudience.campaign_id == draft["id"])
        )
        == 0
    )
    assert _actions(draft["id"])[-1] == "campaign.deleted"
    assert api("DELETE", f"/campaigns/{draft['id']}").status_code == 404


def test_a_manager_may_not_copy_or_delete(
    setup: dict[str, Any], api: Any, api_client: Callable[[str], Any]
) -> None:
    draft = new_campaign(api, setup)
    client, headers = api_client("manager")
    assert client.delete(f"/api/v1/campaigns/{draft['id']}", headers=headers).status_code == 403
    duplicate = client.post(f"/api/v1/campaigns/{draft['id']}/duplicate", headers=headers)
    assert duplicate.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)) == 1


def test_a_finished_campaign_is_archived_out_of_the_list(api: Any, setup: dict[str, Any]) -> None:
    campaign = new_campaign(api, setup)
    running = new_campaign(api, setup, name="Loopt")
    api("POST", f"/campaigns/{running['id']}/start")
    api("POST", f"/campaigns/{campaign['id']}/start")

    refused = api("POST", f"/campaigns/{running['id']}/archive")
    assert refused.status_code == 409

    api("POST", f"/campaigns/{campaign['id']}/stop")
    archived = api("POST", f"/campaigns/{campaign['id']}/archive")
    assert archived.status_code == 200
    assert archived.json["archived_at"] is not None

    def listed(query: str = "") -> set[str]:
        return {c["id"] for c in api("GET", f"/campaigns{query}").json}

    assert listed() == {running["id"]}
    assert listed("?archived=true") == {campaign["id"]}
    assert listed("?archived=any") == {campaign["id"], running["id"]}
    # As the campaigns page writes it.
    assert listed("?archived=1") == {campaign["id"]}
    assert listed("?archived=0") == {running["id"]}
    bad = api("GET", "/campaigns?archived=maybe")
    assert bad.status_code == 422
    assert "archived" in bad.json["error"]["fields"]

    assert api("POST", f"/campaigns/{campaign['id']}/unarchive").json["archived_at"] is None
    assert listed() == {campaign["id"], running["id"]}
    assert _actions(campaign["id"])[-2:] == ["campaign.archived", "campaign.unarchived"]


def test_sending_a_mail_again_takes_a_campaign_out_of_the_archive(
    app: Flask, api_client: Any
) -> None:
    domain = make_domain("punthelder-seo.nl", 1)
    campaign, _, (message,) = make_running_campaign([domain], leads=1)
    message.status, message.retry_count, message.last_error = "failed", 1, "550 mailbox full"
    campaign.status, campaign.finished_at, campaign.archived_at = "completed", utcnow(), utcnow()
    db.session.commit()
    client, headers = api_client("marketer")
    response = client.post(f"/api/v1/messages/{message.id}/resend", headers=headers)
    assert response.status_code == 200, response.json
    db.session.expire_all()
    reopened = db.session.get(Campaign, campaign.id)
    assert (reopened.status, reopened.archived_at) == ("running", None)


@pytest.mark.parametrize("status", ["draft", "running", "paused"])
def test_the_database_refuses_to_archive_an_unfinished_campaign(app: Flask, status: str) -> None:
    domain = make_domain("punthelder-seo.nl", 1)
    campaign, _, _ = make_running_campaign([domain], leads=1)
    campaign.status, campaign.archived_at = status, utcnow()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.commit()
    db.session.rollback()


def test_the_campaign_page_offers_copy_delete_and_archive(
    api: Any, setup: dict[str, Any], login_as: Callable[[str], FlaskClient]
) -> None:
    draft = new_campaign(api, setup)
    client = login_as("marketer")
    page = client.get(f"/campaigns/{draft['id']}")
    assert 'id="action-duplicate"' in page.text
    assert 'id="action-delete"' in page.text
    assert 'id="action-archive"' not in page.text

    copied = client.post(f"/campaigns/{draft['id']}/duplicate", data={"csrf_token": client.csrf})
    assert copied.status_code == 303
    copy_id = copied.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    assert copy_id != draft["id"]
    assert "Copy of Voorjaar" in client.get(copied.headers["Location"]).text

    deleted = client.post(f"/campaigns/{copy_id}/delete", data={"csrf_token": client.csrf})
    assert deleted.status_code == 303
    assert client.get(f"/campaigns/{copy_id}").status_code == 404

    client.post(f"/campaigns/{draft['id']}/stop", data={"csrf_token": client.csrf})
    page = client.get(f"/campaigns/{draft['id']}")
    assert 'id="action-delete"' not in page.text
    archived = client.post(f"/campaigns/{draft['id']}/archive", data={"csrf_token": client.csrf})
    assert archived.status_code == 303
    assert draft["id"] not in client.get("/campaigns/").text
    archive_page = client.get("/campaigns/?archived=1")
    assert draft["id"] in archive_page.text
    assert "Archived campaigns" in archive_page.text
    assert 'id="action-archive"' in client.get(f"/campaigns/{draft['id']}").text

    # No token, no change.
    assert client.post(f"/campaigns/{draft['id']}/unarchive").status_code == 400
