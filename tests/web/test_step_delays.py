"""Per-step delays: the working days before each follow-up, set per mail number."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from tests.web import test_campaigns_api
from tests.web.test_campaigns_api import new_campaign
from webapp.extensions import db
from webapp.models import Campaign, Message
from webapp.services.domains import get_domain
from webapp.services.planning import DomainCalendar, domain_spec

setup = pytest.fixture(test_campaigns_api.setup.__wrapped__, name="setup")
api = pytest.fixture(test_campaigns_api.api.__wrapped__, name="api")


def working_days_between(first: datetime, second: datetime, domain: str) -> int:
    """Working days of the domain from the first mail's day to the second's."""
    calendar = DomainCalendar(domain_spec(get_domain(domain)))
    zone = ZoneInfo(calendar.spec.timezone)
    day, end, count = first.astimezone(zone).date(), second.astimezone(zone).date(), 0
    while day < end:
        day += timedelta(days=1)
        count += calendar.is_working_day(day)
    return count


def gaps(campaign_id: str) -> list[int]:
    rows = db.session.execute(
        sa.select(Message.lead_id, Message.mail_number, Message.scheduled_at, Message.domain_used)
        .where(Message.campaign_id == campaign_id)
        .order_by(Message.lead_id, Message.mail_number)
    ).all()
    by_lead: dict[str, list[Any]] = {}
    for row in rows:
        by_lead.setdefault(row.lead_id, []).append(row)
    return [
        working_days_between(mails[0].scheduled_at, mails[1].scheduled_at, mails[0].domain_used)
        for mails in by_lead.values()
    ]


def test_a_campaign_waits_its_own_delay_before_each_follow_up(
    api: Any, setup: dict[str, Any]
) -> None:
    campaign = new_campaign(api, setup, followup_days=1, step_delays=[6])
    assert campaign["step_delays"] == [6]
    dry_run = api("GET", f"/campaigns/{campaign['id']}/dry-run").json
    assert api("POST", f"/campaigns/{campaign['id']}/start").status_code == 200
    found = gaps(campaign["id"])
    assert found and min(found) >= 6  # not the one working day of followup_days
    # The dry run said so before the start.
    assert datetime.fromisoformat(dry_run["finishes_at"]) == max(
        db.session.scalars(
            sa.select(Message.scheduled_at).where(Message.campaign_id == campaign["id"])
        )
    )

    # Shortened on a running campaign: its queued follow-ups move up.
    response = api("PATCH", f"/campaigns/{campaign['id']}", json={"step_delays": [2]})
    assert response.status_code == 200, response.json
    db.session.expire_all()
    assert max(gaps(campaign["id"])) < 6
    assert min(gaps(campaign["id"])) >= 2


@pytest.mark.parametrize(
    "value", [[1, 2, 3, 4], ["soon"], [61], [-1], "3", {"2": 3}, [True], [1.7]]
)
def test_bad_step_delays_are_422_naming_the_field(
    api: Any, setup: dict[str, Any], value: Any
) -> None:
    response = api(
        "POST",
        "/campaigns",
        json={
            "name": "x",
            "template_id": setup["template"].id,
            "audience": {"list_names": ["mkb"]},
            "step_delays": value,
        },
    )
    assert response.status_code == 422
    assert "step_delays" in response.json["error"]["fields"]


def test_the_wizard_takes_a_delay_per_follow_up(setup: dict[str, Any], login_as: Any) -> None:
    client: FlaskClient = login_as("marketer")
    state = {
        "name": "Getrapt",
        "template_id": setup["template"].id,
        "list_names": "mkb",
        "followup_days": "2",
        "step_delay_2": "",
        "step_delay_3": "7",
    }
    page = client.post(
        "/campaigns/new",
        data={"csrf_token": client.csrf, "step": "schedule", "go": "next", **state},  # type: ignore[attr-defined]
    )
    assert 'data-step="dry_run"' in page.text
    assert "2 / 7 / 2 working days before mail 2, 3 and 4" in page.text
    created = client.post(
        "/campaigns/new",
        data={"csrf_token": client.csrf, "step": "dry_run", "go": "create", **state},  # type: ignore[attr-defined]
    )
    assert created.status_code == 303
    campaign = db.session.execute(sa.select(Campaign)).scalar_one()
    # An empty field before a filled one takes the days between mails.
    assert campaign.step_delays == [2, 7]
    edit = client.get(f"/campaigns/{campaign.id}/edit")
    assert 'name="step_delay_3" id="field-step_delay_3" min="0" max="60" value="7"' in edit.text
