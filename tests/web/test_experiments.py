"""The experiment view over the API and on the campaign page: figures from seeded messages
and events, the winner action, its checks and its roles."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import make_campaign, make_event, make_lead, make_message, make_template
from webapp.extensions import db
from webapp.models import Campaign, Message, MessageStatus
from webapp.services.kpis.experiment_stats import Arm, credible_interval, probability_best

SENT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _seed(
    campaign: Campaign, key: str, sent: int, replied: int, queued: int = 0, **extra: int
) -> None:
    """`sent` sent mails of variant `key` (the first `replied` replied) and `queued` queued;
    `extra` gives how many of the sent had a human open, a machine open only, a click, a
    bounce or an unsubscribe."""
    for index in range(sent + queued):
        lead = make_lead()
        is_sent = index < sent
        message = make_message(
            campaign,
            lead,
            variant=key,
            status=MessageStatus.SENT if is_sent else MessageStatus.QUEUED,
            sent_at=SENT_AT if is_sent else None,
        )
        if not is_sent:
            continue
        if index < replied:
            make_event(message, "replied")
        if index < extra.get("human", 0):
            message.open_at = SENT_AT
            make_event(message, "opened", meta={"machine": False})
        elif index < extra.get("human", 0) + extra.get("machine", 0):
            message.open_at = SENT_AT
            make_event(message, "opened", meta={"machine": True})
        if index < extra.get("clicked", 0):
            make_event(message, "clicked")
        if sent - index <= extra.get("bounced", 0):
            message.status = MessageStatus.BOUNCED
            make_event(message, "bounced")
        if sent - index - extra.get("bounced", 0) in range(1, extra.get("unsubscribed", 0) + 1):
            make_event(message, "unsubscribed")


@pytest.fixture
def running(app: Flask) -> Campaign:
    template = make_template(steps=2)
    template.steps[0].variants = [{"key": "A", "weight": 1}, {"key": "B", "weight": 1}]
    campaign = make_campaign(template_id=template.id, status="running")
    _seed(campaign, "A", sent=120, replied=3, queued=5, human=10, machine=30, clicked=4, bounced=2)
    _seed(campaign, "B", sent=130, replied=15, queued=7, human=12, unsubscribed=1)
    db.session.commit()
    return campaign


def test_the_figures_count_each_variant_and_judge_on_replies(
    running: Campaign, api_client: Callable[[str], Any]
) -> None:
    client, headers = api_client("manager")
    answer = client.get(f"/api/v1/campaigns/{running.id}/experiments", headers=headers)
    assert answer.status_code == 200
    [step] = answer.json["steps"]
    assert step["mail_number"] == 1 and step["winner"] is None
    a, b = step["variants"]
    assert {k: a[k] for k in ("key", "sent", "human_opened", "clicked", "replied", "bounced")} == {
        "key": "A", "sent": 120, "human_opened": 10, "clicked": 4, "replied": 3, "bounced": 2,
    }  # fmt: skip
    assert (b["sent"], b["replied"], b["unsubscribed"], b["bounced"]) == (130, 15, 1, 0)
    arms = [Arm(120, 3), Arm(130, 15)]
    assert a["reply_rate"] == pytest.approx(3 / 120)
    assert (a["reply_rate_low"], a["reply_rate_high"]) == pytest.approx(
        credible_interval(arms[0]), abs=1e-6
    )
    assert [a["p_best"], b["p_best"]] == pytest.approx(probability_best(arms), abs=1e-6)
    assert step["verdict"] == {"state": "likely_winner", "best": "B"}


def test_the_campaign_page_shows_the_verdict_table_chart_and_csv(
    running: Campaign, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("manager")
    page = client.get(f"/campaigns/{running.id}")
    assert 'id="campaign-experiments"' in page.text
    section = client.get(f"/campaigns/{running.id}/experiments", headers={"HX-Request": "true"})
    assert section.status_code == 200
    assert "is best with" in section.text or "is het beste" in section.text
    assert 'id="experiment-1-chart"' in section.text and "chart-whisker" in section.text
    assert 'id="winner-1-A"' not in section.text  # a manager only reads
    csv = client.get(f"/campaigns/{running.id}/experiments.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("mail_number,key,sent")
    assert lines[1].startswith("1,A,120,10,4,3,2,0,")


def test_too_few_sends_are_said_to_be_too_few(app: Flask, api_client: Callable[[str], Any]) -> None:
    template = make_template()
    template.steps[0].variants = [{"key": "A", "weight": 1}, {"key": "C", "weight": 2}]
    campaign = make_campaign(template_id=template.id, status="running")
    _seed(campaign, "A", sent=8, replied=2)
    db.session.commit()
    client, headers = api_client("marketer")
    [step] = client.get(f"/api/v1/campaigns/{campaign.id}/experiments", headers=headers).json[
        "steps"
    ]
    assert [v["key"] for v in step["variants"]] == ["A", "C"]
    assert step["variants"][1]["sent"] == 0 and step["variants"][1]["reply_rate"] is None
    assert step["verdict"]["state"] == "too_small"


def test_the_winner_moves_queued_mail_and_is_checked(
    running: Campaign, api_client: Callable[[str], Any]
) -> None:
    client, headers = api_client("marketer")
    url = f"/api/v1/campaigns/{running.id}/experiments"
    bad = client.post(f"{url}/1/winner", headers=headers, json={"variant": "D"})
    assert bad.status_code == 422 and "variant" in bad.json["error"]["fields"]
    none = client.post(f"{url}/2/winner", headers=headers, json={"variant": "A"})
    assert none.status_code == 422 and "mail_number" in none.json["error"]["fields"]
    manager, manager_headers = api_client("manager")
    denied = manager.post(f"{url}/1/winner", headers=manager_headers, json={"variant": "B"})
    assert denied.status_code == 403
    done = client.post(f"{url}/1/winner", headers=headers, json={"variant": "B"})
    assert done.status_code == 200
    assert done.json["moved"] == 5 and done.json["steps"][0]["winner"] == "B"
    counts = dict(
        db.session.execute(
            sa.select(Message.variant, sa.func.count())
            .where(Message.campaign_id == running.id, Message.status == MessageStatus.QUEUED)
            .group_by(Message.variant)
        ).all()
    )
    assert counts == {"B": 12}


def test_a_draft_has_no_winner_to_declare(app: Flask, api_client: Callable[[str], Any]) -> None:
    template = make_template()
    template.steps[0].variants = [{"key": "A", "weight": 1}, {"key": "B", "weight": 1}]
    campaign = make_campaign(template_id=template.id)
    db.session.commit()
    client, headers = api_client("marketer")
    answer = client.post(
        f"/api/v1/campaigns/{campaign.id}/experiments/1/winner",
        headers=headers,
        json={"variant": "A"},
    )
    assert answer.status_code == 409


def test_the_page_button_declares_the_winner(
    running: Campaign, login_as: Callable[[str], FlaskClient]
) -> None:
    client = login_as("marketer")
    section = client.get(f"/campaigns/{running.id}/experiments", headers={"HX-Request": "true"})
    assert 'id="winner-1-A"' in section.text
    answer = client.post(
        f"/campaigns/{running.id}/experiments/1/winner",
        data={"variant": "A"},
        headers={"HX-Request": "true", "X-CSRFToken": client.csrf},  # type: ignore[attr-defined]
    )
    assert answer.status_code == 200
    assert 'id="winner-1-A"' not in answer.text and "experiment-1-verdict" in answer.text
    db.session.expire_all()
    assert db.session.get(Campaign, running.id).variant_winners == {"1": "A"}  # type: ignore[union-attr]
