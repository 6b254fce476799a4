"""Service refusals are answered in one place: JSON for the API, a page or fragment otherwise."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, request_finished
from flask.testing import FlaskClient

from tests.factories import make_lead, make_template
from tests.sending_support import make_domain, make_running_campaign
from webapp.database import utcnow
from webapp.errors import service_status
from webapp.extensions import db
from webapp.models import Campaign, Suppression
from webapp.services.campaigns import CampaignConflict, CampaignInputError, create_campaign
from webapp.services.errors import Conflict, InvalidInput, NotFound, ServiceError
from webapp.services.leads import ImportFileError, SuppressionError
from webapp.services.sending import MessageConflict

HTMX = {"HX-Request": "true"}


@contextmanager
def suppressions_seen_when_answered(app: Flask) -> Iterator[list[int]]:
    """How many suppressions the request's own session sees once its answer is made."""
    seen: list[int] = []

    def count(sender: Flask, response: Any, **extra: Any) -> None:
        seen.append(db.session.scalar(sa.select(sa.func.count()).select_from(Suppression)) or 0)

    with request_finished.connected_to(count, app):
        yield seen


def half_done_then(error: ServiceError) -> Callable[..., Any]:
    """A stand-in service that writes (flushed, not committed) and then refuses."""

    def service(*args: Any, **kwargs: Any) -> Any:
        db.session.add(Suppression(email="half@done.nl", reason="manual"))
        db.session.flush()
        raise error

    return service


def test_each_kind_of_refusal_has_its_status() -> None:
    assert service_status(InvalidInput({"name": "required"})) == 422
    assert service_status(CampaignInputError({"name": "required"})) == 422
    assert service_status(ImportFileError("the file is empty")) == 422
    assert service_status(Conflict("busy")) == 409
    assert service_status(CampaignConflict("it is running")) == 409
    assert service_status(MessageConflict("it is sent")) == 409
    assert service_status(NotFound("no such thing")) == 404


def test_invalid_input_is_a_422_with_fields_and_the_session_rolled_back(
    app: Flask, api_client: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, headers = api_client("marketer")
    refusal = SuppressionError({"email": "not an email address"})
    monkeypatch.setattr("webapp.web.api.suppressions.add_suppression", half_done_then(refusal))
    with suppressions_seen_when_answered(app) as seen:
        response = client.post("/api/v1/suppressions", headers=headers, json={"email": "x"})
    assert response.status_code == 422
    assert response.json == {
        "error": {
            "code": "invalid",
            "message": "invalid suppression",
            "fields": {"email": "not an email address"},
        }
    }
    # The handler undid the flushed row before answering, not only the request's teardown.
    assert seen == [0]

    monkeypatch.undo()
    following = client.post("/api/v1/suppressions", headers=headers, json={"email": "a@b.nl"})
    assert following.status_code == 201, following.json
    assert client.get("/api/v1/suppressions", headers=headers).json["total"] == 1


def test_a_real_service_refusal_over_the_api_then_a_request_that_works(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    template = make_template()
    make_lead(list_name="mkb")
    db.session.commit()
    client, headers = api_client("marketer")
    refused = client.post(
        "/api/v1/campaigns",
        headers=headers,
        json={"name": "", "template_id": template.id, "audience": {"list_names": ["mkb"]}},
    )
    assert refused.status_code == 422
    assert refused.json["error"]["code"] == "invalid"
    assert refused.json["error"]["message"] == "invalid campaign"
    assert set(refused.json["error"]["fields"]) == {"name"}
    created = client.post(
        "/api/v1/campaigns",
        headers=headers,
        json={"name": "Voorjaar", "template_id": template.id, "audience": {"list_names": ["mkb"]}},
    )
    assert created.status_code == 201, created.json


def test_a_start_that_cannot_be_planned_is_a_409_and_leaves_a_draft(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    # No active sending domain: the status moves to running, then planning refuses.
    template = make_template()
    make_lead(list_name="mkb")
    campaign = create_campaign(
        {"name": "Zonder domein", "template_id": template.id, "audience": {"list_names": ["mkb"]}},
        None,
        utcnow(),
    )
    db.session.commit()
    client, headers = api_client("marketer")
    response = client.post(f"/api/v1/campaigns/{campaign.id}/start", headers=headers)
    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"
    assert "Cannot start this campaign" in response.json["error"]["message"]
    shown = client.get(f"/api/v1/campaigns/{campaign.id}", headers=headers)
    assert shown.status_code == 200 and shown.json["status"] == "draft"
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).status == "draft"


def test_conflict_and_not_found_keep_their_codes_over_the_api(
    app: Flask, api_client: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, headers = api_client("marketer")
    target = "webapp.web.api.suppressions.add_suppression"
    monkeypatch.setattr(target, half_done_then(Conflict("already being added", code="busy")))
    with suppressions_seen_when_answered(app) as seen:
        busy = client.post("/api/v1/suppressions", headers=headers, json={"email": "a@b.nl"})
    assert busy.status_code == 409
    assert busy.json == {"error": {"code": "busy", "message": "already being added", "fields": {}}}
    assert seen == [0]

    monkeypatch.setattr(target, half_done_then(NotFound("no such list")))
    missing = client.post("/api/v1/suppressions", headers=headers, json={"email": "a@b.nl"})
    assert missing.status_code == 404
    assert missing.json["error"] == {"code": "not_found", "message": "no such list", "fields": {}}


def test_a_page_gets_an_error_page_and_htmx_a_fragment_in_the_flash_area(
    app: Flask, login_as: Callable[[str], FlaskClient]
) -> None:
    domain = make_domain("punthelder-seo.nl", 1)
    campaign, _, (sent,) = make_running_campaign([domain], leads=1)
    sent.status = "sent"
    db.session.commit()
    client = login_as("marketer")
    url = f"/campaigns/{campaign.id}/messages/{sent.id}"
    form = {"action": "resend"}

    page = client.post(url, data=form, headers={"X-CSRFToken": client.csrf})
    assert page.status_code == 409
    assert "409 · Conflict" in page.text and "this one is sent" in page.text
    assert "<html" in page.text and "HX-Retarget" not in page.headers

    fragment = client.post(url, data=form, headers={**HTMX, "X-CSRFToken": client.csrf})
    assert fragment.status_code == 409
    assert fragment.headers["HX-Retarget"] == "#flash"
    assert "<html" not in fragment.text and "this one is sent" in fragment.text


def test_invalid_input_on_a_page_says_which_fields_and_rolls_back(
    app: Flask, login_as: Callable[[str], FlaskClient], monkeypatch: pytest.MonkeyPatch
) -> None:
    domain = make_domain("punthelder-seo.nl", 1)
    campaign, _, (failed,) = make_running_campaign([domain], leads=1)
    failed.status = "failed"
    db.session.commit()
    client = login_as("marketer")
    refusal = InvalidInput({"outcome": "must be sent or resend"}, "invalid decision")
    monkeypatch.setattr("webapp.web.campaigns.routes.resend_message", half_done_then(refusal))
    with suppressions_seen_when_answered(app) as seen:
        response = client.post(
            f"/campaigns/{campaign.id}/messages/{failed.id}",
            data={"action": "resend"},
            headers={**HTMX, "X-CSRFToken": client.csrf},
        )
    assert response.status_code == 422
    assert response.headers["HX-Retarget"] == "#flash"
    assert "outcome: must be sent or resend" in response.text
    assert seen == [0]
