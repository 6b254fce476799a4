"""Large starts, resumes, stops and re-plans: the request answers at once, a job does the work.

The jobs run on the in-process pool (no Redis). Each test holds the planning lock on a
connection of its own while it looks at the campaign, so the job is demonstrably waiting
(not finished, not half-done) until the test lets it go.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.factories import make_lead, make_template
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import ActionStatus, Campaign, CampaignAction, Message
from webapp.services.domains import seed_default_domains
from webapp.services.planning import settle_stalled_actions
from webapp.services.planning.writer import PLANNING_LOCK_KEY
from webapp.services.sending import dispatch_once

AMS = ZoneInfo("Europe/Amsterdam")


@contextmanager
def planning_held() -> Iterator[None]:
    """Hold the lock every planner takes first, so a job that plans waits for us."""
    with db.engine.connect() as connection:
        connection.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": PLANNING_LOCK_KEY})
        try:
            yield
        finally:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": PLANNING_LOCK_KEY})
            connection.commit()


def poll(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()  # see the job's commits
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@pytest.fixture
def in_background(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every campaign change runs as a job, however small."""
    monkeypatch.setitem(app.config, "CAMPAIGN_BACKGROUND_MESSAGES", 0)


@pytest.fixture
def setup(app: Flask) -> dict[str, Any]:
    seed_default_domains()
    template = make_template(steps=2)
    for _ in range(6):
        make_lead(list_name="mkb")
    db.session.commit()
    return {"template": template}


@pytest.fixture
def api(api_client: Callable[[str], Any]) -> Any:
    client, headers = api_client("marketer")

    def call(method: str, url: str, **kwargs: Any) -> Any:
        url = url if url.startswith("/api/v1/") else f"/api/v1{url}"  # status URLs are whole
        return client.open(url, method=method, headers=headers, **kwargs)

    return call


def new_campaign(api: Any, setup: dict[str, Any]) -> str:
    response = api(
        "POST",
        "/campaigns",
        json={
            "name": "Groot",
            "template_id": setup["template"].id,
            "audience": {"list_names": ["mkb"]},
            "followup_enabled": True,
            "followup_days": 2,
            "domains": ["punthelder-seo.nl"],
        },
    )
    assert response.status_code == 201, response.json
    return str(response.json["id"])


def message_count(campaign_id: str) -> int:
    return int(
        db.session.scalar(sa.select(sa.func.count()).where(Message.campaign_id == campaign_id)) or 0
    )


def test_a_large_api_start_answers_202_and_the_job_writes_the_plan(
    api: Any, setup: dict[str, Any], in_background: None
) -> None:
    campaign_id = new_campaign(api, setup)
    with planning_held():
        response = api("POST", f"/campaigns/{campaign_id}/start")
        assert response.status_code == 202, response.json
        body = response.json
        assert (body["id"], body["status"], body["pending_action"]) == (
            campaign_id,
            "draft",
            "start",
        )
        assert body["status_url"].startswith(f"/api/v1/campaigns/{campaign_id}/actions/")
        assert response.headers["Location"] == body["status_url"]
        assert body["pending"]["total"] == 12  # six leads, two steps

        # The job has the action and waits for the lock: nothing is written yet.
        poll(lambda: api("GET", body["status_url"]).json["status"] == "running", "the job")
        assert message_count(campaign_id) == 0
        shown = api("GET", f"/campaigns/{campaign_id}").json
        assert (shown["status"], shown["pending_action"]) == ("draft", "start")
        listed = {c["id"]: c for c in api("GET", "/campaigns").json}
        assert listed[campaign_id]["pending"]["status"] == "running"

        # One action at a time.
        for action in ("start", "stop", "pause"):
            refused = api("POST", f"/campaigns/{campaign_id}/{action}")
            assert refused.status_code == 409, action
            assert refused.json["error"]["code"] == "action_pending"
        edit = api("PATCH", f"/campaigns/{campaign_id}", json={"name": "Anders"})
        assert edit.status_code == 409

    done = poll(
        lambda: (s := api("GET", body["status_url"]).json)["status"] in ("done", "failed") and s,
        "the start to finish",
    )
    assert (done["status"], done["affected"]) == ("done", 12)
    shown = api("GET", f"/campaigns/{campaign_id}").json
    assert (shown["status"], shown["pending_action"], shown["pending"]) == ("running", None, None)
    assert message_count(campaign_id) == 12


def test_a_small_start_still_answers_200_with_the_campaign_running(
    api: Any, setup: dict[str, Any]
) -> None:
    campaign_id = new_campaign(api, setup)
    response = api("POST", f"/campaigns/{campaign_id}/start")
    assert response.status_code == 200
    assert (response.json["status"], response.json["pending_action"]) == ("running", None)
    assert "status_url" not in response.json
    assert message_count(campaign_id) == 12


def test_a_start_that_cannot_be_planned_fails_and_leaves_the_draft_as_it_was(
    api: Any, setup: dict[str, Any], in_background: None, admin_api: Any
) -> None:
    campaign_id = new_campaign(api, setup)
    assert (
        admin_api("PATCH", "/domains/punthelder-seo.nl", json={"paused": True}).status_code == 200
    )
    response = api("POST", f"/campaigns/{campaign_id}/start")
    assert response.status_code == 202
    failed = poll(
        lambda: (s := api("GET", response.json["status_url"]).json)["status"] == "failed" and s,
        "the start to fail",
    )
    assert "Cannot start this campaign" in failed["error"]
    shown = api("GET", f"/campaigns/{campaign_id}").json
    assert (shown["status"], shown["pending_action"]) == ("draft", None)
    assert message_count(campaign_id) == 0
    # Free again: a retry is taken.
    assert (
        admin_api("PATCH", "/domains/punthelder-seo.nl", json={"paused": False}).status_code == 200
    )
    again = api("POST", f"/campaigns/{campaign_id}/start")
    assert again.status_code == 202
    poll(lambda: api("GET", again.json["status_url"]).json["status"] == "done", "the retry")
    assert message_count(campaign_id) == 12


@pytest.fixture
def admin_api(api_client: Callable[[str], Any]) -> Any:
    client, headers = api_client("admin")

    def call(method: str, url: str, **kwargs: Any) -> Any:
        url = url if url.startswith("/api/v1/") else f"/api/v1{url}"  # status URLs are whole
        return client.open(url, method=method, headers=headers, **kwargs)

    return call


def test_the_dispatcher_claims_nothing_of_a_campaign_being_replanned(
    api: Any, admin_api: Any, setup: dict[str, Any], in_background: None
) -> None:
    campaign_id = new_campaign(api, setup)
    response = api("POST", f"/campaigns/{campaign_id}/start")
    poll(lambda: api("GET", response.json["status_url"]).json["status"] == "done", "the start")
    monday = datetime(2030, 1, 7, 10, 0, tzinfo=AMS).astimezone(UTC)

    def make_due() -> None:
        db.session.execute(
            sa.update(Message)
            .where(Message.campaign_id == campaign_id, Message.mail_number == 1)
            .values(scheduled_at=monday - timedelta(hours=1))
        )
        db.session.commit()

    make_due()
    with planning_held():
        changed = admin_api("PATCH", "/domains/punthelder-seo.nl", json={"interval_seconds": 600})
        assert changed.status_code == 200, changed.json
        shown = api("GET", f"/campaigns/{campaign_id}").json
        assert (shown["status"], shown["pending_action"]) == ("running", "replan")
        assert dispatch_once(monday, enqueue=False).claimed == []
        # While it re-plans, another pace change must wait too.
        again = admin_api("PATCH", "/domains/punthelder-seo.nl", json={"interval_seconds": 900})
        assert again.status_code == 409
    poll(lambda: api("GET", f"/campaigns/{campaign_id}").json["pending_action"] is None, "replan")
    make_due()
    assert len(dispatch_once(monday, enqueue=False).claimed) == 1


def test_pausing_a_domain_holds_at_once_even_while_a_campaign_on_it_replans(
    api: Any, admin_api: Any, setup: dict[str, Any], in_background: None
) -> None:
    campaign_id = new_campaign(api, setup)
    response = api("POST", f"/campaigns/{campaign_id}/start")
    poll(lambda: api("GET", response.json["status_url"]).json["status"] == "done", "the start")
    monday = datetime(2030, 1, 7, 10, 0, tzinfo=AMS).astimezone(UTC)
    db.session.execute(
        sa.update(Message)
        .where(Message.campaign_id == campaign_id, Message.mail_number == 1)
        .values(scheduled_at=monday - timedelta(hours=1))
    )
    db.session.commit()
    with planning_held():
        changed = admin_api("PATCH", "/domains/punthelder-seo.nl", json={"interval_seconds": 600})
        assert changed.status_code == 200, changed.json
        # An emergency stop of the domain is never refused, busy campaign or not.
        paused = admin_api("PATCH", "/domains/punthelder-seo.nl", json={"paused": True})
        assert paused.status_code == 200, paused.json
        assert paused.json["paused"] is True
    poll(lambda: api("GET", f"/campaigns/{campaign_id}").json["pending_action"] is None, "replan")
    # The re-plan ran with the domain paused: nothing of it is claimed.
    assert dispatch_once(monday, enqueue=False).claimed == []


def test_the_page_redirects_at_once_and_shows_the_progress(
    app: Flask,
    login_as: Callable[[str], Any],
    api: Any,
    setup: dict[str, Any],
    in_background: None,
) -> None:
    campaign_id = new_campaign(api, setup)
    client = login_as("marketer")
    with planning_held():
        response = client.post(f"/campaigns/{campaign_id}/start", data={"csrf_token": client.csrf})
        assert response.status_code == 303
        page = client.get(f"/campaigns/{campaign_id}")
        assert "its 12 messages are being planned" in page.text
        assert 'data-pending="start"' in page.text and "starting" in page.text
        assert 'id="action-start"' not in page.text  # no second action offered
        fragment = client.get(f"/campaigns/{campaign_id}/pending", headers={"HX-Request": "true"})
        assert fragment.status_code == 200 and 'id="campaign-pending"' in fragment.text
        listing = client.get("/campaigns/")
        assert f'id="campaign-{campaign_id}-status" data-pending="start"' in listing.text
        twice = client.post(
            f"/campaigns/{campaign_id}/start",
            data={"csrf_token": client.csrf},
            headers={"HX-Request": "true"},
        )
        assert twice.status_code == 409
        assert (
            "is starting; wait until that is done" in client.get(f"/campaigns/{campaign_id}").text
        )
    finished = poll(
        lambda: (
            (
                r := client.get(f"/campaigns/{campaign_id}/pending", headers={"HX-Request": "true"})
            ).headers.get("HX-Refresh")
            and r
        ),
        "the page to hear the start is done",
    )
    assert finished.status_code == 200
    assert 'data-status="running"' in client.get(f"/campaigns/{campaign_id}").text


def test_an_action_whose_worker_died_is_failed_by_the_sweep_and_can_be_retried(
    api: Any, setup: dict[str, Any], in_background: None
) -> None:
    campaign_id = new_campaign(api, setup)
    with planning_held():
        response = api("POST", f"/campaigns/{campaign_id}/start")
        poll(lambda: api("GET", response.json["status_url"]).json["status"] == "running", "job")
        # Its lease is renewed while it runs: nothing is stale yet.
        assert settle_stalled_actions(utcnow()) == 0
    poll(lambda: api("GET", response.json["status_url"]).json["status"] == "done", "the start")

    # A running action nobody renews (its process was killed) is failed and cleared.
    campaign = db.session.get(Campaign, campaign_id)
    assert campaign is not None
    campaign.status, campaign.pending_action = "paused", "resume"
    lost = CampaignAction(campaign_id=campaign_id, action="resume", status=ActionStatus.RUNNING)
    lost.started_at = lost.heartbeat_at = utcnow() - timedelta(minutes=5)
    db.session.add(lost)
    db.session.commit()
    stop = api("POST", f"/campaigns/{campaign_id}/stop")
    assert stop.status_code == 202
    poll(lambda: api("GET", stop.json["status_url"]).json["status"] == "done", "the stop")
    assert api("GET", f"/campaigns/{campaign_id}").json["status"] == "stopped"
    db.session.expire_all()
    assert db.session.get(CampaignAction, lost.id).status == "failed"
    assert "stopped before it finished" in (db.session.get(CampaignAction, lost.id).error or "")


def test_on_the_embedded_sqlite_default_the_process_pool_runs_the_action(
    sqlite_app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    from webapp.services.campaigns import create_campaign, request_action

    monkeypatch.setitem(sqlite_app.config, "CAMPAIGN_BACKGROUND_MESSAGES", 0)
    seed_default_domains()
    template = make_template(steps=2)
    for _ in range(6):
        make_lead(list_name="klein")
    campaign = create_campaign(
        {
            "name": "Thuis",
            "template_id": template.id,
            "audience": {"list_names": ["klein"]},
            "followup_enabled": True,
            "followup_days": 2,
        },
        None,
        utcnow(),
    )
    db.session.commit()
    campaign_id = campaign.id
    recorded = request_action(campaign, "start", None, utcnow())
    assert recorded is not None
    action_id = recorded.id
    db.session.commit()
    poll(
        lambda: db.session.get(CampaignAction, action_id).status == ActionStatus.DONE,
        "the in-process pool to start the campaign",
    )
    found = db.session.get(Campaign, campaign_id)
    assert found is not None and (found.status, found.pending_action) == ("running", None)
    assert message_count(campaign_id) == 12
