"""Operator actions: resend a failed message, decide an uncertain one."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask

from tests.sending_support import make_domain, make_running_campaign
from webapp.extensions import db
from webapp.models import AuditEvent, Message


def test_resend_puts_a_failed_message_and_its_follow_ups_back(app: Flask, api_client: Any) -> None:
    domain = make_domain("punthelder-seo.nl", 1)
    _, _, messages = make_running_campaign([domain], leads=1, steps=2)
    first, second = messages
    first.status, first.retry_count, first.last_error = "failed", 1, "render: missing url"
    second.status, second.last_error = "canceled", "earlier mail failed"
    db.session.commit()
    client, headers = api_client("marketer")
    response = client.post(f"/api/v1/messages/{first.id}/resend", headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["status"] == "queued"
    db.session.expire_all()
    assert db.session.get(Message, second.id).status == "queued"
    assert (
        db.session.execute(
            sa.select(AuditEvent.action).where(AuditEvent.subject_id == first.id)
        ).scalar_one()
        == "message.resent"
    )


def test_resend_is_409_unless_failed_with_fewer_than_three_attempts(
    app: Flask, api_client: Any
) -> None:
    domain = make_domain("punthelder-seo.nl", 1)
    _, _, (sent, exhausted) = make_running_campaign([domain], leads=2)
    sent.status = "sent"
    exhausted.status, exhausted.retry_count = "failed", 3
    db.session.commit()
    client, headers = api_client("marketer")
    for message in (sent, exhausted):
        response = client.post(f"/api/v1/messages/{message.id}/resend", headers=headers)
        assert response.status_code == 409
        assert response.json["error"]["code"] == "conflict"
    assert client.post("/api/v1/messages/nope/resend", headers=headers).status_code == 404


def test_an_uncertain_message_is_decided_sent_or_resent(app: Flask, api_client: Any) -> None:
    from webapp.database import utcnow

    domain = make_domain("punthelder-seo.nl", 1)
    _, _, (one, two) = make_running_campaign([domain], leads=2)
    for message in (one, two):
        message.status, message.send_started_at = "uncertain", utcnow()
    db.session.commit()
    client, headers = api_client("marketer")
    bad = client.post(f"/api/v1/messages/{one.id}/decide", headers=headers, json={"outcome": "x"})
    assert bad.status_code == 422
    assert "outcome" in bad.json["error"]["fields"]
    sent = client.post(
        f"/api/v1/messages/{one.id}/decide", headers=headers, json={"outcome": "sent"}
    )
    assert sent.json["status"] == "sent"
    assert sent.json["sent_at"] is not None
    resent = client.post(
        f"/api/v1/messages/{two.id}/decide", headers=headers, json={"outcome": "resend"}
    )
    assert resent.json["status"] == "queued"
    again = client.post(
        f"/api/v1/messages/{one.id}/decide", headers=headers, json={"outcome": "resend"}
    )
    assert again.status_code == 409


def test_the_campaign_page_offers_and_applies_the_operator_decisions(
    app: Flask, login_as: Any
) -> None:
    from webapp.database import utcnow

    domain = make_domain("punthelder-seo.nl", 1)
    campaign, _, (failed, uncertain, sent) = make_running_campaign([domain], leads=3)
    failed.status, failed.retry_count = "failed", 1
    uncertain.status, uncertain.send_started_at = "uncertain", utcnow()
    sent.status = "sent"
    db.session.commit()

    client = login_as("marketer")
    page = client.get(f"/campaigns/{campaign.id}/messages")
    assert page.status_code == 200
    assert page.text.count(">Resend</button>") == 1
    assert page.text.count(">It was sent</button>") == 1
    url = f"/campaigns/{campaign.id}/messages"
    headers = {"HX-Request": "true", "X-CSRFToken": client.csrf}
    row = client.post(f"{url}/{failed.id}", data={"action": "resend"}, headers=headers)
    assert row.status_code == 200
    assert 'data-status="queued"' in row.text
    row = client.post(f"{url}/{uncertain.id}", data={"action": "mark_sent"}, headers=headers)
    assert 'data-status="sent"' in row.text
    # Deciding again is a conflict, shown in the flash area.
    again = client.post(f"{url}/{uncertain.id}", data={"action": "send_again"}, headers=headers)
    assert again.status_code == 409
    assert again.headers["HX-Retarget"] == "#flash"

    manager = login_as("manager")
    assert ">Resend</button>" not in manager.get(f"/campaigns/{campaign.id}/messages").text
