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


def send_due_mail() -> list[str]:
    """One dispatcher pass and its sends, in this process (a re-plan may have put the
    mail on a slot a few seconds ahead: the pass looks a minute on)."""
    from datetime import timedelta

    from webapp.database import utcnow
    from webapp.services.sending.dispatch import dispatch_once
    from webapp.services.sending.send import send_claimed_message

    result = dispatch_once(utcnow() + timedelta(minutes=1), enqueue=False)
    return [send_claimed_message(*claim) for claim in result.claimed]


def test_sending_again_in_a_completed_campaign_really_sends(
    app: Flask, api_client: Any, tmp_path: Any
) -> None:
    from webapp.database import utcnow
    from webapp.models import Campaign

    app.config["OUTBOX_DIR"] = str(tmp_path)
    domain = make_domain("punthelder-seo.nl", 1)
    campaign, _, (uncertain, failed) = make_running_campaign([domain], leads=2)
    uncertain.status, uncertain.send_started_at = "uncertain", utcnow()
    failed.status, failed.retry_count = "failed", 1
    campaign.status, campaign.finished_at = "completed", utcnow()
    db.session.commit()
    client, headers = api_client("marketer")

    again = client.post(
        f"/api/v1/messages/{uncertain.id}/decide", headers=headers, json={"outcome": "resend"}
    )
    resent = client.post(f"/api/v1/messages/{failed.id}/resend", headers=headers)

    assert again.status_code == resent.status_code == 200
    db.session.expire_all()
    assert db.session.get(Campaign, campaign.id).status == "running"
    domain.last_sent_at = None
    db.session.commit()
    outcomes = send_due_mail()
    domain.last_sent_at = None
    db.session.commit()
    outcomes += send_due_mail()
    assert outcomes == ["sent", "sent"]
    db.session.expire_all()
    assert db.session.get(Message, uncertain.id).status == "sent"
    assert db.session.get(Message, failed.id).status == "sent"
    # With nothing left, it is completed again; the reopening is on the record.
    assert db.session.get(Campaign, campaign.id).status == "completed"
    actions = db.session.execute(
        sa.select(AuditEvent.action).where(AuditEvent.subject_id == campaign.id)
    ).scalars()
    assert "campaign.reopened" in list(actions)


def test_a_stopped_campaign_sends_nothing_again_and_says_why(
    app: Flask, api_client: Any, login_as: Any
) -> None:
    from webapp.database import utcnow

    domain = make_domain("punthelder-seo.nl", 1)
    campaign, _, (uncertain, failed) = make_running_campaign([domain], leads=2)
    uncertain.status, uncertain.send_started_at = "uncertain", utcnow()
    failed.status, failed.retry_count = "failed", 1
    campaign.status = "stopped"
    db.session.commit()
    page = login_as("marketer").get(f"/campaigns/{campaign.id}/messages").text
    assert ">Resend</button>" not in page  # the page does not offer what would be refused
    assert ">Send again</button>" not in page
    assert ">It was sent</button>" in page
    client, headers = api_client("marketer")

    again = client.post(
        f"/api/v1/messages/{uncertain.id}/decide", headers=headers, json={"outcome": "resend"}
    )
    resent = client.post(f"/api/v1/messages/{failed.id}/resend", headers=headers)

    for response in (again, resent):
        assert response.status_code == 409
        assert "campaign was stopped" in response.json["error"]["message"]
    db.session.expire_all()
    assert db.session.get(Message, uncertain.id).status == "uncertain"
    assert db.session.get(Message, failed.id).status == "failed"
    # Saying it went out is still an honest record of what happened.
    sent = client.post(
        f"/api/v1/messages/{uncertain.id}/decide", headers=headers, json={"outcome": "sent"}
    )
    assert sent.status_code == 200


def test_concurrent_decisions_on_one_message_serialise(app: Flask, api_client: Any) -> None:
    import threading

    from webapp.database import utcnow
    from webapp.models import MessageEvent

    domain = make_domain("punthelder-seo.nl", 1)
    _, _, (message,) = make_running_campaign([domain], leads=1)
    started = utcnow()
    message.status, message.send_started_at = "uncertain", started
    db.session.commit()
    _, headers = api_client("marketer")
    url = f"/api/v1/messages/{message.id}/decide"
    outcomes = ["sent", "resend"] * 5
    gate = threading.Barrier(len(outcomes))
    answers: list[int] = []

    def decide(outcome: str) -> None:
        client = app.test_client()
        gate.wait()
        response = client.post(url, headers=headers, json={"outcome": outcome})
        answers.append(response.status_code)

    threads = [threading.Thread(target=decide, args=(o,)) for o in outcomes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == [200] + [409] * 9
    db.session.expire_all()
    decided = db.session.get(Message, message.id)
    events = db.session.execute(
        sa.select(MessageEvent.event_type).where(MessageEvent.message_id == message.id)
    ).scalars()
    if decided.status == "sent":
        assert decided.send_started_at is not None
        assert list(events) == ["sent"]
    else:
        assert (decided.status, decided.send_started_at) == ("queued", None)
        assert list(events) == ["resent"]
