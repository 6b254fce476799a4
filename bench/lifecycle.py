"""Start, resume, a domain's pace change and stop of a 100,000-message campaign, as the jobs
run them (25,000 leads x 4 mails over 4 domains), beside raw SQL over the same rows.

Baselines, measured in the same run on the same fresh PostgreSQL database: a raw COPY of
the 100,000 planned rows into `messages`, and one raw UPDATE moving all of them a day.
Goal (issue 18): each action under 15 s on a 2-core machine, memory flat. The last line
re-runs the resume the way it was written before (ORM objects and one UPDATE per
message) for comparison.

    .venv/bin/python bench/lifecycle.py [--runs 3] [--admin-url postgresql://...]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from flask_migrate import upgrade

from bench.plan import LEADS, NOW, STEPS, make_data
from tests.services.test_replan_properties import row_by_row_replan
from tests.support.services import (
    DEFAULT_PG_ADMIN_URL,
    create_database,
    drop_database,
    sqlalchemy_url,
)
from webapp import create_app
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Campaign, CampaignAction, Message
from webapp.services.campaigns import apply_action, request_action, run_campaign_action
from webapp.services.domains import get_domain, update_domain
from webapp.services.planning.plans import plan_request_for, prepare
from webapp.services.planning.writer import COLUMNS, copy_line, message_rows

V1 = "punthelder-vindbaarheid.nl"


class HeldJobs:
    """Keeps what the app enqueues, so the bench runs each job itself, timed."""

    def __init__(self) -> None:
        self.jobs: list[tuple[str, tuple[Any, ...]]] = []

    def enqueue(self, job: str, *args: Any, queue: str = "", timeout: int = 0) -> None:
        self.jobs.append((job, args))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    db.session.commit()
    return time.perf_counter() - started, result


def run_held(held: HeldJobs) -> int:
    """Run the jobs the last commit enqueued; returns the messages they touched."""
    touched = 0
    jobs, held.jobs = held.jobs, []
    for job, args in jobs:
        assert job == "run_campaign_action", job
        assert run_campaign_action(*args) == "done", args
        touched += db.session.get(CampaignAction, args[0]).affected or 0
    return touched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--admin-url", default=DEFAULT_PG_ADMIN_URL)
    args = parser.parse_args()

    url = create_database(args.admin_url, prefix="campaigns_bench")
    held = HeldJobs()
    times: dict[str, list[float]] = {
        "COPY 100k rows (baseline)": [],
        "UPDATE 100k rows (baseline)": [],
        "start (job)": [],
        "resume (job)": [],
        "pace change (job)": [],
        "stop (job)": [],
    }
    peaks: dict[str, float] = {}
    touched: dict[str, set[int]] = {name: set() for name in times}
    try:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url), "CAMPAIGN_BACKGROUND_MESSAGES": 0}
        )
        with app.app_context():
            upgrade()
            app.extensions["job_queue"] = held
            campaign = make_data()
            campaign_id = campaign.id
            planned = prepare(plan_request_for(campaign), NOW).messages
            rows = message_rows(campaign, planned, {}, NOW)
            assert len(rows) == LEADS * STEPS

            def reset() -> Campaign:
                db.session.execute(sa.text("TRUNCATE messages, campaign_actions CASCADE"))
                db.session.execute(
                    sa.update(Campaign)
                    .where(Campaign.id == campaign_id)
                    .values(status="draft", pending_action=None, start_at=NOW)
                )
                domain = get_domain(V1)
                assert domain is not None
                domain.interval_seconds = 1200
                db.session.commit()
                found = db.session.get(Campaign, campaign_id)
                assert found is not None
                return found

            def copy_rows() -> None:
                driver = db.session.connection().connection.driver_connection
                with (
                    driver.cursor() as cursor,
                    cursor.copy(f"COPY messages ({', '.join(COLUMNS)}) FROM STDIN") as copy,
                ):
                    copy.write("".join(copy_line(row) for row in rows))

            def record(name: str, elapsed: float, count: int) -> None:
                times[name].append(elapsed)
                touched[name].add(count)
                peaks[name] = peak_mb()

            for _ in range(args.runs):
                campaign = reset()
                record("COPY 100k rows (baseline)", timed(copy_rows)[0], len(rows))
                elapsed, result = timed(
                    lambda: db.session.execute(
                        sa.text(
                            "UPDATE messages SET scheduled_at = scheduled_at + interval '1 day'"
                        )
                    )
                )
                record("UPDATE 100k rows (baseline)", elapsed, result.rowcount)  # type: ignore[attr-defined]
                campaign = reset()

                # The request records the action and answers; the job does the rest.
                request_action(campaign, "start", None, utcnow())
                db.session.commit()
                record("start (job)", *timed(lambda: run_held(held)))  # type: ignore[arg-type]

                campaign = db.session.get(Campaign, campaign_id)
                apply_action(campaign, "pause", None, utcnow())
                campaign.start_at = NOW + timedelta(days=1)  # every queued mail moves
                db.session.commit()
                request_action(campaign, "resume", None, utcnow())
                db.session.commit()
                record("resume (job)", *timed(lambda: run_held(held)))  # type: ignore[arg-type]

                domain = get_domain(V1)
                update_domain(domain, {"interval_seconds": 900})
                db.session.commit()
                record("pace change (job)", *timed(lambda: run_held(held)))  # type: ignore[arg-type]

                campaign = db.session.get(Campaign, campaign_id)
                request_action(campaign, "stop", None, utcnow())
                db.session.commit()
                record("stop (job)", *timed(lambda: run_held(held)))  # type: ignore[arg-type]

            # Before: the same resume, with one UPDATE per message (ORM objects).
            campaign = reset()
            request_action(campaign, "start", None, utcnow())
            db.session.commit()
            run_held(held)
            campaign = db.session.get(Campaign, campaign_id)
            campaign.start_at = NOW + timedelta(days=1)
            db.session.commit()
            before_rss = peak_mb()
            old_elapsed, old_moved = timed(lambda: row_by_row_replan(campaign, utcnow()))
            old_peak = peak_mb()
            db.session.execute(sa.select(sa.func.count()).select_from(Message))
    finally:
        drop_database(args.admin_url, url, prefix="campaigns_bench")

    baseline_copy = statistics.median(times["COPY 100k rows (baseline)"])
    baseline_update = statistics.median(times["UPDATE 100k rows (baseline)"])
    print(f"{LEADS:,} leads x {STEPS} mails = {LEADS * STEPS:,} messages, {args.runs} runs")
    print(f"{'step':<30}{'median s':>9}{'x COPY':>8}{'x UPDATE':>10}{'rows':>9}{'peak RSS MB':>13}")
    for name, samples in times.items():
        median = statistics.median(samples)
        count = ",".join(f"{n:,}" for n in sorted(touched[name]))
        print(
            f"{name:<30}{median:>9.2f}{median / baseline_copy:>8.2f}"
            f"{median / baseline_update:>10.2f}{count:>9}{peaks[name]:>13.0f}"
        )
    print(
        f"{'resume, row by row (before)':<30}{old_elapsed:>9.2f}{old_elapsed / baseline_copy:>8.2f}"
        f"{old_elapsed / baseline_update:>10.2f}{old_moved:>9,}{old_peak:>13.0f}"
        f"  (peak RSS rose {old_peak - before_rss:.0f} MB)"
    )


if __name__ == "__main__":
    main()
