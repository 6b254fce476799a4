"""One time, one format: every page, chart and export shows Amsterdam time and Dutch numbers."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.factories import make_campaign, make_message, make_template
from webapp.extensions import db
from webapp.formats import (
    NO_FIGURE,
    clock_time,
    day_month,
    decimal,
    export_time,
    local_date,
    local_time,
    percent,
    thousands,
)
from webapp.models import Campaign, CampaignAudience, Lead, Message
from webapp.services.domains import seed_default_domains

# 12:20 UTC on 2 December is 13:20 in Amsterdam (CET, UTC+1).
SCHEDULED = datetime(2026, 12, 2, 12, 20, tzinfo=UTC)
SENT = SCHEDULED + timedelta(seconds=5, microseconds=123456)
OPENED = datetime(2026, 12, 2, 14, 5, tzinfo=UTC)
BULK = 1_200

# Dutch, the product's default; tests/web/test_i18n.py has English.
pytestmark = pytest.mark.usefixtures("dutch")

LOCAL_DATE_TIME = re.compile(r"\b\d{2}-\d{2}-\d{4} \d{2}:\d{2}\b")
# ISO dates with a time, an offset, or a date the other way round next to a time.
FOREIGN_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|[+-]\d{2}:\d{2}\b|\d{2}:\d{2}:\d{2}")
COMMA_THOUSANDS = re.compile(r"\d,\d{3}(?!\d)")
BARE_THOUSANDS = re.compile(r"(?<![\w.,@/#-])\d{4,}(?![\w.,@/-])")
DECIMAL_POINT_PERCENT = re.compile(r"\d\.\d{1,2}\s*%")


def visible_text(html: str) -> str:
    """What a reader sees: the page without tags, attributes, scripts and styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def a_big_running_campaign() -> Campaign:
    """A running campaign of 1,200 messages: one sent and opened, the rest queued later."""
    seed_default_domains()
    template = make_template(name="Winter")
    template.steps[0].subject = "Dag {{ first_name }}"  # a variable no lead has
    campaign = make_campaign(
        name="Winter Utrecht", status="running", started_at=SCHEDULED, template_id=template.id
    )
    # Names spelled in letters, so that the only figures on the pages are the app's own.
    names = ["".join(chr(ord("a") + int(digit)) for digit in f"{k:04d}") for k in range(BULK)]
    lead_rows = [
        {"email": f"info@{name}.nl", "company": f"Klant {name}", "domain": f"{name}.nl"}
        for name in names
    ]
    db.session.execute(sa.insert(Lead), lead_rows)
    ids = db.session.scalars(sa.select(Lead.id).order_by(Lead.email)).all()
    db.session.add(CampaignAudience(campaign_id=campaign.id, lead_ids=list(ids)))
    first = db.session.get(Lead, ids[0])
    assert first is not None
    make_message(
        campaign,
        first,
        status="opened",
        scheduled_at=SCHEDULED,
        sent_at=SENT,
        open_at=OPENED,
        alias="christian",
    )
    later = SCHEDULED + timedelta(days=1)
    db.session.execute(
        sa.insert(Message),
        [
            {
                "campaign_id": campaign.id,
                "lead_id": lead_id,
                "domain_used": "punthelder-seo.nl",
                "alias": "victor",
                "scheduled_at": later + timedelta(minutes=20 * k),
                "mail_number": 1,
            }
            for k, lead_id in enumerate(ids[1:])
        ],
    )
    db.session.commit()
    return campaign


def test_the_formats_are_dutch_and_in_the_app_s_time_zone(app: Flask) -> None:
    assert local_time(SCHEDULED) == "02-12-2026 13:20"
    assert local_time("2026-12-02T12:20:00+00:00") == "02-12-2026 13:20"
    assert local_time(datetime(2026, 7, 1, 12, 20)) == "01-07-2026 14:20"  # naive is UTC; CEST
    assert local_time(None) == ""
    assert local_date(datetime(2026, 12, 31, 23, 30, tzinfo=UTC)) == "01-01-2027"
    assert local_date("2026-12-02") == local_date(date(2026, 12, 2)) == "02-12-2026"
    assert day_month("2026-12-02") == "02-12"
    assert clock_time(SCHEDULED) == "13:20" and clock_time(time(9, 0)) == "09:00"
    assert thousands(2384) == "2.384" and thousands(1_234_567) == "1.234.567"
    assert thousands(None) == NO_FIGURE
    assert percent(28.571) == "28,57%" and percent(1234.5) == "1.234,50%"
    assert percent(None) == NO_FIGURE
    assert decimal(20.0) == "20" and decimal(0.5) == "0,5" and decimal(12345.25, 2) == "12.345,25"
    assert export_time(SENT) == "2026-12-02 13:20:05"


def test_every_time_on_the_campaign_page_is_amsterdam_time_in_one_format(
    app: Flask, login_as: Callable[[str], Any]
) -> None:
    campaign = a_big_running_campaign()

    page = login_as("manager").get(f"/campaigns/{campaign.id}").text

    row = page[page.index('id="messages-table"') :]
    row = visible_text(row[: row.index("</tbody>")])
    assert "02-12-2026 13:20" in row  # due and sent
    assert "02-12-2026 15:05" in row  # opened
    assert "12:20" not in row
    text = visible_text(page)
    assert FOREIGN_TIME.findall(text) == []
    assert "+00:00" not in page
    assert set(LOCAL_DATE_TIME.findall(text)) >= {"02-12-2026 13:20", "02-12-2026 15:05"}


@pytest.mark.parametrize(
    "path", ["/campaigns/{campaign.id}", "/campaigns/", "/", "/templates/{campaign.template_id}"]
)
def test_numbers_use_dutch_separators_on_every_page(
    app: Flask, login_as: Callable[[str], Any], path: str
) -> None:
    campaign = a_big_running_campaign()

    text = visible_text(login_as("manager").get(path.format(campaign=campaign)).text)

    assert "1.200" in text
    assert COMMA_THOUSANDS.findall(text) == []
    assert BARE_THOUSANDS.findall(text) == []
    assert DECIMAL_POINT_PERCENT.findall(text) == []


def test_the_message_export_gives_amsterdam_times_to_the_second_and_the_api_keeps_iso(
    app: Flask, api_client: Callable[[str], Any]
) -> None:
    campaign = a_big_running_campaign()
    client, headers = api_client("manager")

    export = client.get(
        f"/api/v1/campaigns/{campaign.id}/export.csv", headers=headers, buffered=True
    )
    rows = list(csv.DictReader(io.StringIO(export.text.removeprefix("\ufeff"))))
    api = client.get(f"/api/v1/campaigns/{campaign.id}/messages", headers=headers).json

    first = rows[0]
    assert first["scheduled_at"] == "2026-12-02 13:20:00"
    assert first["sent_at"] == "2026-12-02 13:20:05"
    assert first["open_at"] == "2026-12-02 15:05:00"
    assert "+00:00" not in export.text
    assert api["items"][0]["scheduled_at"] == "2026-12-02T12:20:00+00:00"
