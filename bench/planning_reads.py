"""Planning reads on the agency-scale data set (bench/scale.py): availability, the dry runs
of the running 107k-message campaign and of the 26.8k-lead draft (split into its parts),
the calendar and today's sends, each beside `SELECT 1` through the same session.

    .venv/bin/python bench/planning_reads.py [--database-url URL] [--runs 5]

Point it at a copy of `campaigns_scale` upgraded to this branch (`flask db upgrade`); it
reads only, except the kept dry-run reports (`dry_run_reports`), which it empties before
each first view of the draft. Medians of --runs runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from flask import render_template

from webapp import create_app
from webapp.config import normalise_database_url
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Campaign
from webapp.services.kpis import campaign_calendar, todays_sends
from webapp.services.planning import (
    campaign_dry_run,
    domain_availability,
    plan_request_for,
    plans,
    report,
    taken,
)
from webapp.services.planning.planner import PlanSettings, fresh_leads, plan
from webapp.services.planning.slots import DomainCalendar

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/campaigns_scale_planning"


def median_ms(action: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = action()
        times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    return statistics.median(times), result


def notable(name: str) -> str:
    sizes = db.session.execute(sa.text("SELECT sizes FROM bench_scale_marker")).scalar_one()
    return str(sizes["notable"][name]["id"])


def draft_parts(campaign_id: str, runs: int) -> list[tuple[str, float]]:
    """The draft's dry run step by step, as `prepare` and `build_report` take them."""
    now = utcnow()
    campaign = db.session.get(Campaign, campaign_id)
    assert campaign is not None
    request = plan_request_for(campaign)
    domains, _ = plans.load_domains(request.domains)
    specs = [plans.domain_spec(d) for d in domains]
    steps = max(1, min(4, request.steps)) if request.followup_enabled else 1
    settings = PlanSettings(request.start_at, max(0, request.followup_days))
    parts: list[tuple[str, float]] = []
    ms, lead_ids = median_ms(lambda: plans.plannable_lead_ids(request.lead_ids), runs)
    assert isinstance(lead_ids, list)
    parts.append((f"reading leads ({len(lead_ids):,})", ms))
    ms, full = median_ms(lambda: plans.taken_slots(domains, now, campaign_id), runs)
    assert isinstance(full, dict)
    parts.append((f"reading every taken slot, as before ({sum(map(len, full.values())):,})", ms))

    def bounded() -> dict[str, list[Any]]:
        recent = taken.recent_sends(domains, now, campaign_id)
        until = taken.first_horizon(
            specs, now, len(lead_ids) * steps, steps, settings.followup_days
        )
        return taken.taken_times(specs, recent, now, until, campaign_id)

    ms, times = median_ms(bounded, runs)
    assert isinstance(times, dict)
    until = taken.first_horizon(specs, now, len(lead_ids) * steps, steps, settings.followup_days)
    full = taken.full_days(specs, now.date(), until.date(), campaign_id)
    calendars = {s.name: DomainCalendar(s) for s in specs}
    slots = sum(calendars[n].capacity(d) for n, days in full.items() for d in days)
    read = sum(map(len, times.values())) - slots
    parts.append(
        (f"reading what the plan can meet ({read:,} rows, {slots:,} slots of full days)", ms)
    )
    leads = fresh_leads(lead_ids, steps)
    ms, messages = median_ms(lambda: plan(specs, times, leads, settings, now), runs)
    assert isinstance(messages, list)
    parts.append((f"planning ({len(messages):,} mails)", ms))
    prepared = plans.prepare(request, now, make_plan=False, lead_ids=lead_ids)
    prepared.messages = messages
    ms, _ = median_ms(lambda: report.build_report(prepared, messages, lead_warnings=False), runs)
    parts.append(("building the report (without lead warnings)", ms))
    ms, _ = median_ms(lambda: report._lead_warnings(prepared), runs)
    parts.append(("lead warnings", ms))
    return parts


def forget_kept_reports() -> None:
    with db.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM dry_run_reports"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(args.database_url)})
    rows: list[tuple[str, float]] = []
    with app.test_request_context("/"):
        now = utcnow()
        baseline, _ = median_ms(lambda: db.session.execute(sa.text("SELECT 1")).scalar(), 50)
        rows.append(("SELECT 1 (baseline)", baseline))
        running, draft = notable("running_107k"), notable("draft_26k")
        ms, _ = median_ms(lambda: domain_availability(now), args.runs)
        rows.append(("availability (200 domains, 14 days)", ms))
        ms, _ = median_ms(lambda: campaign_dry_run(running, now), args.runs)
        rows.append(("dry run, running campaign (107k messages)", ms))

        def first_view() -> object:
            forget_kept_reports()
            return campaign_dry_run(draft, now)

        ms, _ = median_ms(first_view, args.runs)
        rows.append(("dry run, draft (26.8k leads), first view", ms))
        ms, _ = median_ms(lambda: campaign_dry_run(draft, now), args.runs)
        rows.append(("dry run, draft, repeated view (kept report)", ms))
        for name, ms in draft_parts(draft, args.runs):
            rows.append((f"  draft: {name}", ms))
        ms, calendar = median_ms(lambda: campaign_calendar(now), args.runs)
        rows.append(("calendar data", ms))
        ms, html = median_ms(
            lambda: render_template("dashboard/_calendar.html", calendar=calendar), args.runs
        )
        rows.append((f"calendar fragment rendered ({len(str(html).encode()) / 1024:,.0f} KB)", ms))
        ms, _ = median_ms(lambda: todays_sends(now), args.runs)
        rows.append(("today's sends (overview)", ms))
    print("| measurement | median ms | ratio to SELECT 1 |")
    print("| --- | ---: | ---: |")
    for name, ms in rows:
        print(f"| {name} | {ms:,.1f} | {ms / baseline:,.0f}x |")


if __name__ == "__main__":
    main()
