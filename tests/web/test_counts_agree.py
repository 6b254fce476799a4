"""Every view of a campaign tells the same numbers: the list, the campaign page, the overview,
the API (list, one campaign, KPIs) and the KPI export, for any mix of messages and events.

The expected figures are computed here from the messages as made, by the definitions of
docs/rules.md ("KPIs"), not by the product's own queries.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import make_campaign, make_event, make_lead, make_message
from webapp.extensions import db
from webapp.formats import percent
from webapp.services.kpis import campaign_overview

SENT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LATER = SENT + timedelta(hours=3)
STATUSES = ["queued", "sending", "sent", "opened", "bounced", "failed", "canceled", "uncertain"]


@dataclass(frozen=True)
class Spec:
    """One message as the product could leave it, and what happened to it afterwards."""

    status: str
    sent: bool
    opened: bool
    human_open: bool
    machine_open: bool
    replied: bool
    bounce_event: bool
    unsubscribed: bool
    mail_number: int
    domain: str


specs = st.builds(
    Spec,
    status=st.sampled_from(STATUSES),
    sent=st.booleans(),
    opened=st.booleans(),
    human_open=st.booleans(),
    machine_open=st.booleans(),
    replied=st.booleans(),
    bounce_event=st.booleans(),
    unsubscribed=st.booleans(),
    mail_number=st.integers(1, 3),
    domain=st.sampled_from(["punthelder-seo.nl", "punthelder-marketing.nl"]),
)


def expected_figures(messages: list[Spec]) -> dict[str, int]:
    """The figures by their definitions, counted over the specs."""
    opened = [m for m in messages if m.sent and m.opened]
    return {
        "planned": sum(m.status != "canceled" for m in messages),
        "sent": sum(m.sent for m in messages),
        "opened": len(opened),
        "human_opened": sum(m.human_open for m in opened),
        "replied": sum(m.replied for m in messages),
        "bounced": sum(m.status == "bounced" or m.bounce_event for m in messages),
        "failed": sum(m.status == "failed" for m in messages),
        "unsubscribed": sum(m.unsubscribed for m in messages),
    }


def make_campaign_with(messages: list[Spec], status: str) -> str:
    campaign = make_campaign(status=status, domain="punthelder-seo.nl")
    for spec in messages:
        sent_at = SENT if spec.sent else None
        open_at = LATER if spec.sent and spec.opened else None
        message = make_message(
            campaign,
            make_lead(),
            status=spec.status,
            mail_number=spec.mail_number,
            domain_used=spec.domain,
            sent_at=sent_at,
            open_at=open_at,
        )
        if open_at is not None:
            if spec.machine_open:
                make_event(message, "opened", meta={"machine": True}, created_at=open_at)
            if spec.human_open:
                make_event(message, "opened", meta={"machine": False}, created_at=LATER)
        if spec.replied:
            make_event(message, "replied", created_at=LATER)
        if spec.bounce_event:
            make_event(message, "bounced", created_at=LATER)
        if spec.unsubscribed:
            make_event(message, "unsubscribed", created_at=LATER)
    db.session.commit()
    return campaign.id


def number(html: str, element_id: str) -> int:
    """The number shown in the element with that id (Dutch thousands separators)."""
    found = re.search(rf'id="{element_id}">([\d.]+)<', html)
    assert found, f"no #{element_id} on the page"
    return int(found.group(1).replace(".", ""))


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(messages=st.lists(specs, max_size=12), status=st.sampled_from(["running", "completed"]))
def test_every_view_of_a_campaign_shows_the_same_figures(
    app: Flask,
    api_client: Callable[[str], Any],
    login_as: Callable[[str], Any],
    messages: list[Spec],
    status: str,
) -> None:
    campaign_id = make_campaign_with(messages, status)
    expected = expected_figures(messages)
    api, headers = api_client("manager")
    page_client = login_as("manager")

    listed = {c["id"]: c for c in api.get("/api/v1/campaigns", headers=headers).get_json()}[
        campaign_id
    ]["progress"]
    one = api.get(f"/api/v1/campaigns/{campaign_id}", headers=headers).get_json()["progress"]
    kpis = api.get(f"/api/v1/campaigns/{campaign_id}/kpis", headers=headers).get_json()
    export = next(
        csv.DictReader(
            io.StringIO(
                page_client.get(
                    f"/kpis/campaigns/{campaign_id}/kpis.csv", buffered=True
                ).text.lstrip("\ufeff")
            )
        )
    )
    overview = {row["id"]: row for row in campaign_overview()}[campaign_id]
    for view in (listed, one, kpis, overview):
        assert {name: view[name] for name in expected} == expected
    assert {name: int(export[name]) for name in expected} == expected
    assert listed["open_rate_pct"] == one["open_rate_pct"] == kpis["open_rate_pct"]

    page = page_client.get(f"/campaigns/{campaign_id}").text
    assert number(page, "progress-planned") == expected["planned"]
    assert number(page, "progress-sent") == expected["sent"]
    assert number(page, "progress-human-opened") == expected["human_opened"]
    assert number(page, "progress-replied") == expected["replied"]
    if expected["planned"]:
        share = round(100 * expected["sent"] / expected["planned"], 2)
        assert f"sent ({percent(share)})" in page
    table = page_client.get("/campaigns/").text
    row = table[table.index(f'id="campaign-{campaign_id}"') :]
    if expected["planned"]:
        assert f"{expected['sent']} / {expected['planned']} sent" in row.split("</tr>")[0]
