"""The demo's history leaves figures the summary and the plain aggregate agree on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Flask

from tests.factories import make_campaign, make_lead, make_message
from webapp.demo.history import seed_demo_history
from webapp.services.kpis.summaries import campaign_kpis, summary_drift


def test_demo_history_marks_due_mails_of_running_campaigns_and_keeps_the_summary_true(
    app: Flask,
) -> None:
    now = datetime(2026, 11, 20, 12, tzinfo=UTC)
    running = make_campaign(status="running")
    draft = make_campaign(status="draft")
    for k in range(200):
        make_message(running, make_lead(), scheduled_at=now - timedelta(hours=k + 1))
    make_message(running, make_lead(), scheduled_at=now + timedelta(hours=1))
    make_message(draft, make_lead(), scheduled_at=now - timedelta(hours=1))

    counts = seed_demo_history(now)

    kpis = campaign_kpis(running.id)
    assert counts["sent"] + counts["bounced"] == 200
    assert kpis["sent"] == counts["sent"] and kpis["replied"] == counts["replied"]
    assert 0 < kpis["human_opened"] < kpis["opened"] < kpis["sent"]
    assert kpis["open_rate_pct"] is not None and kpis["open_rate_pct"] <= 100
    assert campaign_kpis(draft.id)["sent"] == 0
    assert summary_drift() == {"totals": [], "days": []}
