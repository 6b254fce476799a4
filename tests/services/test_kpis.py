"""Campaign KPIs: every figure and rate of a campaign with every kind of message, exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask

from tests.factories import make_campaign, make_event, make_lead, make_message
from webapp.extensions import db
from webapp.models import Campaign
from webapp.services.kpis.summaries import campaign_kpis, campaign_timeline, rate, summary_drift

D1 = "punthelder-seo.nl"
D2 = "punthelder-marketing.nl"
SENT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # 10:00 in Amsterdam, 1 December
LATER = SENT + timedelta(days=1)  # 2 December


def add(campaign: Campaign, mail_number: int, domain: str, status: str, **fields: Any) -> Any:
    return make_message(
        campaign, make_lead(), mail_number=mail_number, domain_used=domain, status=status, **fields
    )


def every_kind_of_message(campaign: Campaign) -> None:
    """Twelve messages: each kind the figures must tell apart (see the expectations below)."""
    opened = {"sent_at": SENT, "open_at": LATER}
    add(campaign, 1, D1, "sent", sent_at=SENT)  # A: sent only
    b = add(campaign, 1, D1, "opened", **opened)  # B: a person opened it
    make_event(b, "opened", meta={"machine": False, "reason": None}, created_at=LATER)
    c = add(campaign, 1, D1, "opened", **opened)  # C: only a privacy proxy opened it
    make_event(c, "opened", meta={"machine": True, "reason": "apple_mpp"}, created_at=LATER)
    d = add(campaign, 2, D2, "opened", **opened)  # D: machine and person opened, clicked
    make_event(d, "opened", meta={"machine": True, "reason": "seconds_after_send"})
    make_event(d, "opened", meta={"machine": False}, created_at=LATER)
    make_event(d, "clicked", meta={"machine": False, "url": "https://x.nl"}, created_at=LATER)
    make_event(d, "clicked", meta={"machine": False, "url": "https://y.nl"}, created_at=LATER)
    e = add(campaign, 2, D2, "sent", sent_at=SENT)  # E: replied (twice), never opened
    make_event(e, "replied", created_at=LATER)
    make_event(e, "replied", created_at=LATER + timedelta(days=1))
    f = add(campaign, 1, D2, "bounced")  # F: hard bounce at SMTP, never sent
    make_event(f, "bounced", meta={"hard": True}, created_at=SENT)
    g = add(campaign, 1, D1, "sent", sent_at=SENT)  # G: sent, bounced later via the inbox
    make_event(g, "bounced", created_at=LATER)
    add(campaign, 1, D1, "failed")  # H
    add(campaign, 2, D1, "canceled")  # I
    add(campaign, 1, D2, "uncertain")  # J
    add(campaign, 1, D1, "queued")  # K
    m = add(campaign, 1, D2, "opened", **opened)  # L: machine open, unsubscribed
    make_event(m, "opened", meta={"machine": True, "reason": "google_image_proxy"})
    make_event(m, "unsubscribed", created_at=LATER)


def test_every_figure_and_rate_of_a_campaign_with_every_kind_of_message(app: Flask) -> None:
    campaign = make_campaign(domain=D1)
    every_kind_of_message(campaign)
    other = make_campaign()  # its messages never leak into the first campaign's figures
    add(other, 1, D1, "sent", sent_at=SENT)

    kpis = campaign_kpis(campaign.id)

    by_mail, by_domain = kpis.pop("by_mail_number"), kpis.pop("by_domain")
    assert kpis == {
        "planned": 11,
        "sent": 7,
        "opened": 4,
        "human_opened": 2,
        "clicked": 1,
        "replied": 1,
        "bounced": 2,
        "failed": 1,
        "unsubscribed": 1,
        "open_rate_pct": 28.57,
        "any_open_rate_pct": 57.14,
        "reply_rate_pct": 14.29,
        "bounce_rate_pct": 28.57,
    }
    assert by_mail == {
        "1": {
            "planned": 9,
            "sent": 5,
            "opened": 3,
            "human_opened": 1,
            "clicked": 0,
            "replied": 0,
            "bounced": 2,
            "failed": 1,
            "unsubscribed": 1,
            "open_rate_pct": 20.0,
            "any_open_rate_pct": 60.0,
            "reply_rate_pct": 0.0,
            "bounce_rate_pct": 40.0,
        },
        "2": {
            "planned": 2,
            "sent": 2,
            "opened": 1,
            "human_opened": 1,
            "clicked": 1,
            "replied": 1,
            "bounced": 0,
            "failed": 0,
            "unsubscribed": 0,
            "open_rate_pct": 50.0,
            "any_open_rate_pct": 50.0,
            "reply_rate_pct": 50.0,
            "bounce_rate_pct": 0.0,
        },
    }
    assert by_domain == {
        D2: {
            "planned": 5,
            "sent": 3,
            "opened": 2,
            "human_opened": 1,
            "clicked": 1,
            "replied": 1,
            "bounced": 1,
            "failed": 0,
            "unsubscribed": 1,
            "open_rate_pct": 33.33,
            "any_open_rate_pct": 66.67,
            "reply_rate_pct": 33.33,
            "bounce_rate_pct": 33.33,
        },
        D1: {
            "planned": 6,
            "sent": 4,
            "opened": 2,
            "human_opened": 1,
            "clicked": 0,
            "replied": 0,
            "bounced": 1,
            "failed": 1,
            "unsubscribed": 0,
            "open_rate_pct": 25.0,
            "any_open_rate_pct": 50.0,
            "reply_rate_pct": 0.0,
            "bounce_rate_pct": 25.0,
        },
    }
    assert summary_drift() == {"totals": [], "days": []}


def test_the_timeline_counts_each_message_once_on_its_own_day(app: Flask) -> None:
    campaign = make_campaign(domain=D1)
    every_kind_of_message(campaign)

    assert campaign_timeline(campaign.id) == [
        # F's SMTP bounce on the 1st; G's inbox bounce and E's first reply on the 2nd.
        {"date": "2026-12-01", "sent": 7, "opened": 0, "replied": 0, "bounced": 1},
        {"date": "2026-12-02", "sent": 0, "opened": 4, "replied": 1, "bounced": 1},
    ]


def test_opened_counts_open_at_not_the_status_so_the_open_rate_stays_at_most_100(
    app: Flask,
) -> None:
    # The seed counted status 'sent' as sent: every opened message left the denominator.
    campaign = make_campaign()
    for _ in range(3):
        add(campaign, 1, D1, "opened", sent_at=SENT, open_at=LATER)
    add(campaign, 1, D1, "sent", sent_at=SENT)
    # A bounce after an open leaves the status 'bounced' but it was sent and opened.
    add(campaign, 1, D1, "bounced", sent_at=SENT, open_at=LATER)

    kpis = campaign_kpis(campaign.id)

    assert (kpis["sent"], kpis["opened"], kpis["any_open_rate_pct"]) == (5, 4, 80.0)


def test_a_campaign_that_has_sent_nothing_has_no_rates(app: Flask) -> None:
    campaign = make_campaign()
    add(campaign, 1, D1, "queued")
    add(campaign, 1, D1, "canceled")

    kpis = campaign_kpis(campaign.id)

    assert kpis["planned"] == 1 and kpis["sent"] == 0
    assert kpis["open_rate_pct"] is kpis["reply_rate_pct"] is kpis["bounce_rate_pct"] is None
    assert campaign_kpis(make_campaign().id)["by_domain"] == {}
    assert campaign_timeline(campaign.id) == []


def test_rates_round_half_up_to_two_decimals() -> None:
    assert rate(1, 3) == 33.33
    assert rate(2, 3) == 66.67
    assert rate(1, 8) == 12.5
    assert rate(1, 800) == 0.13  # 0.125 rounds up, not to even
    assert rate(0, 5) == 0.0
    assert rate(3, 0) is None


def test_deleting_a_campaign_leaves_no_summary_rows(app: Flask) -> None:
    from webapp.models import CampaignKpi, CampaignKpiDay

    campaign = make_campaign()
    every_kind_of_message(campaign)
    db.session.delete(campaign)
    db.session.flush()

    assert db.session.query(CampaignKpi).count() == 0
    assert db.session.query(CampaignKpiDay).count() == 0
