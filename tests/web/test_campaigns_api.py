"""The campaign and audience routes of the JSON API."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.factories import make_lead, make_template
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Campaign, Message, Suppression
from webapp.services.domains import seed_default_domains


@pytest.fixture
def setup(app: Flask) -> dict[str, Any]:
    seed_default_domains()
    template = make_template(steps=2)
    leads = [make_lead(list_name="mkb") for _ in range(5)]
    make_lead(list_name="mkb", domain=leads[0].domain, email=f"jan@{leads[0].domain}")
    make_lead(list_name="mkb", vars={"company": "  ", "url": "https://x.nl"})
    make_lead(list_name="mkb", last_emailed_at=utcnow() - timedelta(days=3))
    suppressed = make_lead(list_name="mkb")
    db.session.add(Suppression(email=suppressed.email, reason="unsubscribed"))
    db.session.commit()
    return {"template": template, "leads": leads}


@pytest.fixture
def api(api_client: Callable[[str], Any]) -> Any:
    client, headers = api_client("marketer")

    def call(method: str, url: str, **kwargs: Any) -> Any:
        return client.open(f"/api/v1{url}", method=method, headers=headers, **kwargs)

    return call


def new_campaign(api: Any, setup: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body = {
        "name": "Voorjaar",
        "template_id": setup["template"].id,
        "audience": {"list_names": ["mkb"], "one_per_domain": True},
        "followup_enabled": True,
        "followup_days": 3,
    }
    body.update(overrides)
    response = api("POST", "/campaigns", json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_the_preview_answers_the_funnel(api: Any, setup: dict[str, Any]) -> None:
    response = api(
        "POST", "/audience/preview", json={"list_names": ["mkb"], "one_per_domain": True}
    )
    assert response.status_code == 200
    body = response.json
    assert body["total"] == 9
    assert body["removed"] == {
        "incomplete": 1,
        "suppressed": 1,
        "recent": 1,
        "duplicate_domain": 1,
    }
    assert body["selected"] == 5
    assert len(body["sample"]) == 5
    assert set(body["sample"][0]) >= {"id", "email", "company", "domain", "missing_variables"}
    # Each row's company is its lead's, never one of the funnel's counts beside it.
    companies = {lead.id: lead.company for lead in setup["leads"]}
    for row in body["sample"]:
        if row["id"] in companies:
            assert row["company"] == companies[row["id"]]
    assert all(isinstance(row["company"], str) for row in body["sample"])


def test_a_bad_preview_is_422_naming_the_field(api: Any, setup: dict[str, Any]) -> None:
    response = api("POST", "/audience/preview", json={"list_names": [], "exclude_recent_days": -1})
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"list_names", "exclude_recent_days"}


def test_creating_answers_201_with_the_campaign(api: Any, setup: dict[str, Any]) -> None:
    start = datetime.fromisoformat(f"{(utcnow() + timedelta(days=60)).date()}T09:00:00+01:00")
    body = new_campaign(api, setup, start_at=start.isoformat())
    assert body["status"] == "draft"
    assert body["audience_size"] == 5
    assert body["start_at"] == start.astimezone(UTC).isoformat()
    assert body["domain"] and body["domains"] == [body["domain"]]
    assert set(body) >= {
        "id", "name", "template_id", "followup_enabled", "followup_days",
        "followup_attach_report", "created_at", "started_at", "finished_at", "progress",
    }  # fmt: skip
    assert api("GET", f"/campaigns/{body['id']}").json["id"] == body["id"]
    assert [c["id"] for c in api("GET", "/campaigns").json] == [body["id"]]


def test_creating_with_bad_input_is_422_naming_each_field(api: Any, setup: dict[str, Any]) -> None:
    response = api(
        "POST",
        "/campaigns",
        json={"name": "", "template_id": "x", "audience": {}, "followup_days": 99},
    )
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {
        "name",
        "template_id",
        "audience.list_names",
        "followup_days",
    }


@pytest.mark.parametrize(
    "start_at",
    [
        "9999-12-31T23:59:59+00:00",
        "0001-01-01T00:00:00+00:00",
        "0001-01-01T00:00:00+01:00",
        "2001-01-01T09:00:00+01:00",
        "far-ahead",
        "last-week",
    ],
)
def test_a_start_far_ahead_or_in_the_past_is_422_on_create_and_edit(
    api: Any, setup: dict[str, Any], start_at: str
) -> None:
    if start_at == "far-ahead":
        start_at = (utcnow() + timedelta(days=400)).isoformat()
    elif start_at == "last-week":
        start_at = (utcnow() - timedelta(days=7)).isoformat()
    body = {"name": "Ver weg", "template_id": setup["template"].id,
            "audience": {"list_names": ["mkb"]}, "start_at": start_at}  # fmt: skip
    created = api("POST", "/campaigns", json=body)
    assert created.status_code == 422
    assert set(created.json["error"]["fields"]) == {"start_at"}
    campaign = new_campaign(api, setup)
    edited = api("PATCH", f"/campaigns/{campaign['id']}", json={"start_at": start_at})
    assert edited.status_code == 422
    assert set(edited.json["error"]["fields"]) == {"start_at"}
    assert api("GET", "/campaigns").status_code == 200


def test_a_start_later_today_or_within_the_year_is_accepted(
    api: Any, setup: dict[str, Any]
) -> None:
    # The form's "today" may be a time earlier today: the plan then starts now.
    for start in (utcnow() - timedelta(hours=3), utcnow() + timedelta(days=360)):
        body = new_campaign(api, setup, start_at=start.isoformat())
        assert datetime.fromisoformat(body["start_at"]) == start.replace(microsecond=0) or (
            datetime.fromisoformat(body["start_at"]) == start
        )


def test_the_lifecycle_over_the_api(api: Any, setup: dict[str, Any]) -> None:
    campaign = new_campaign(api, setup)
    url = f"/campaigns/{campaign['id']}"
    assert api("POST", f"{url}/pause").status_code == 409
    started = api("POST", f"{url}/start")
    assert started.status_code == 200
    assert started.json["status"] == "running"
    assert started.json["progress"]["queued"] == 10
    again = api("POST", f"{url}/start")
    assert again.status_code == 409
    assert again.json["error"]["code"] == "conflict"
    assert "it is running" in again.json["error"]["message"]
    assert api("POST", f"{url}/pause").json["status"] == "paused"
    assert api("POST", f"{url}/resume").json["status"] == "running"
    stopped = api("POST", f"{url}/stop")
    assert stopped.json["status"] == "stopped"
    assert stopped.json["progress"]["canceled"] == 10
    assert stopped.json["finished_at"] is not None
    assert api("POST", f"{url}/resume").status_code == 409
    assert api("POST", f"{url}/stop").status_code == 409


def test_the_messages_route_filters_and_counts(api: Any, setup: dict[str, Any]) -> None:
    campaign = new_campaign(api, setup)
    api("POST", f"/campaigns/{campaign['id']}/start")
    body = api("GET", f"/campaigns/{campaign['id']}/messages").json
    assert body["total"] == 10 and len(body["items"]) == 10
    body = api("GET", f"/campaigns/{campaign['id']}/messages?mail_number=2&status=queued").json
    assert body["total"] == 5
    assert {m["mail_number"] for m in body["items"]} == {2}
    assert api("GET", f"/campaigns/{campaign['id']}/messages?status=lost").status_code == 422
    assert api("GET", f"/campaigns/{campaign['id']}/messages?page=2").json["items"] == []


def test_patch_edits_a_draft_and_only_name_and_follow_ups_of_a_running_one(
    api: Any, setup: dict[str, Any]
) -> None:
    campaign = new_campaign(api, setup)
    url = f"/campaigns/{campaign['id']}"
    changed = api(
        "PATCH", url, json={"audience": {"list_names": ["mkb"]}, "domains": ["punthelder-seo.nl"]}
    )
    assert changed.status_code == 200
    assert changed.json["audience_size"] == 6
    assert changed.json["domains"] == ["punthelder-seo.nl"]
    api("POST", f"{url}/start")
    refused = api("PATCH", url, json={"name": "Later", "start_at": utcnow().isoformat()})
    assert refused.status_code == 409
    assert set(refused.json["error"]["fields"]) == {"start_at"}
    renamed = api("PATCH", url, json={"name": "Later", "followup_enabled": False})
    assert renamed.status_code == 200
    assert renamed.json["name"] == "Later"
    assert renamed.json["progress"]["queued"] == 6
    assert api("PATCH", url, json={"followup_days": -1}).status_code == 422
    # 0 working days: each follow-up takes the next free slot after its earlier mail.
    assert api("PATCH", url, json={"followup_days": 0}).json["followup_days"] == 0


def test_unknown_campaigns_are_404(api: Any, setup: dict[str, Any]) -> None:
    assert api("GET", "/campaigns/nope").status_code == 404
    assert api("POST", "/campaigns/nope/start").status_code == 404
    assert api("GET", "/campaigns?status=lost").status_code == 422


def test_a_manager_reads_but_cannot_start(
    api: Any, api_client: Callable[[str], Any], setup: dict[str, Any]
) -> None:
    campaign = new_campaign(api, setup)
    client, headers = api_client("manager")
    assert client.get(f"/api/v1/campaigns/{campaign['id']}", headers=headers).status_code == 200
    response = client.post(f"/api/v1/campaigns/{campaign['id']}/start", headers=headers)
    assert response.status_code == 403


def test_two_starts_at_once_start_the_campaign_once(
    app: Flask, api_client: Callable[[str], Any], setup: dict[str, Any]
) -> None:
    """Two requests race on PostgreSQL: one starts, the other gets 409; one plan is written."""
    first, headers = api_client("marketer")
    second = app.test_client()
    created = first.post(
        "/api/v1/campaigns",
        headers=headers,
        json={
            "name": "Race",
            "template_id": setup["template"].id,
            "audience": {"list_names": ["mkb"]},
        },
    ).json
    barrier = threading.Barrier(2)
    answers: list[int] = []
    failures: list[BaseException] = []

    def start(client: Any) -> None:
        try:
            barrier.wait(timeout=10)
            answers.append(
                client.post(f"/api/v1/campaigns/{created['id']}/start", headers=headers).status_code
            )
        except BaseException as error:  # surfaced below, in the test's thread
            failures.append(error)

    threads = [threading.Thread(target=start, args=(c,)) for c in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures
    assert sorted(answers) == [200, 409]
    db.session.expire_all()
    assert db.session.get(Campaign, created["id"]).status == "running"
    count = db.session.execute(
        sa.select(sa.func.count()).select_from(Message).where(Message.campaign_id == created["id"])
    ).scalar_one()
    assert count == 6 * 2
