"""Planning and persisting 100,000 messages (25,000 leads x 4 mails over 4 domains).

Measured against a raw COPY of the same rows into the same table, in the same run,
on a fresh PostgreSQL database. Targets: planning + persisting <= 3x COPY,
persisting alone <= 2.5x COPY; starting again writes 0 rows.

With --warm-up every domain has a daily cap of 20 and a ramp from 5 a day, one more each
working day (the plan then spans years more, and the planner counts every domain-day).

With --variants every step has four variants (A-D, weights 1-4), and the same plan is also
measured with the variants taken off again, in the same run, alternating: the target is
planning + persisting with variants <= 1.1x without.

    .venv/bin/python bench/plan.py [--runs 5] [--warm-up] [--variants] [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from flask_migrate import upgrade

from tests.support.services import (
    DEFAULT_PG_ADMIN_URL,
    create_database,
    drop_database,
    sqlalchemy_url,
)
from webapp import create_app
from webapp.database import new_id
from webapp.extensions import db
from webapp.models import Campaign, CampaignAudience, SendingDomain, Template, TemplateStep
from webapp.services.domains import seed_default_domains
from webapp.services.planning.plans import persist_plan, plan_request_for, prepare
from webapp.services.planning.writer import COLUMNS, copy_line, message_rows, write_messages

LEADS = 25_000
STEPS = 4
NOW = datetime(2027, 1, 4, 6, 0, tzinfo=UTC)  # a Monday morning


def make_data(warm_up: bool = False) -> Campaign:
    seed_default_domains()
    if warm_up:
        db.session.execute(
            sa.update(SendingDomain).values(
                daily_cap=20, ramp_start=5, ramp_step=1, ramp_started_on=NOW.date()
            )
        )
    template = Template(name="Bench")
    for number in range(1, STEPS + 1):
        template.steps.append(
            TemplateStep(mail_number=number, subject="Hallo {{ company }}", body_text="Mail")
        )
    db.session.add(template)
    db.session.flush()
    lead_ids = [new_id() for _ in range(LEADS)]
    driver = db.session.connection().connection.driver_connection
    with (
        driver.cursor() as cursor,
        cursor.copy("COPY leads (id, email, company, url, domain, vars) FROM STDIN") as copy,
    ):
        for i, lead_id in enumerate(lead_ids):
            copy.write_row(
                (
                    lead_id,
                    f"info@lead{i}.nl",
                    f"Lead {i}",
                    f"https://lead{i}.nl",
                    f"lead{i}.nl",
                    "{}",
                )
            )
    campaign = Campaign(
        name="Bench",
        template_id=template.id,
        domains=[
            "punthelder-vindbaarheid.nl",
            "punthelder-marketing.nl",
            "punthelder-seo.nl",
            "punthelder-zoekmachine.nl",
        ],
        start_at=NOW,
        followup_enabled=True,
        followup_days=3,
    )
    campaign.audience = CampaignAudience(lead_ids=lead_ids)
    db.session.add(campaign)
    db.session.commit()
    return campaign


def empty_messages() -> None:
    db.session.execute(sa.text("TRUNCATE messages CASCADE"))
    db.session.commit()


def timed(action: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    result = action()
    db.session.commit()
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--warm-up", action="store_true", help="caps and ramps on every domain")
    parser.add_argument("--variants", action="store_true", help="four variants on every step")
    args = parser.parse_args()
    if args.variants:
        compare_variants(args)
        return

    url = create_database(args.admin_url, prefix="campaigns_bench")
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url)})
        with app.app_context():
            upgrade()
            campaign = make_data(args.warm_up)
            planned = prepare(plan_request_for(campaign), NOW).messages
            rows = message_rows(campaign, planned, {}, NOW)
            assert len(rows) == LEADS * STEPS, len(rows)
            times: dict[str, list[float]] = {
                "COPY (baseline)": [],
                "planning alone": [],
                "persisting alone": [],
                "planning + persisting": [],
                "starting again": [],
            }
            written_again: set[object] = set()

            def copy_rows() -> None:
                driver = db.session.connection().connection.driver_connection
                with (
                    driver.cursor() as cursor,
                    cursor.copy(f"COPY messages ({', '.join(COLUMNS)}) FROM STDIN") as copy,
                ):
                    copy.write("".join(copy_line(row) for row in rows))

            for _ in range(args.runs):
                empty_messages()
                times["COPY (baseline)"].append(timed(copy_rows)[0])
                empty_messages()
                times["planning alone"].append(
                    timed(lambda: prepare(plan_request_for(campaign), NOW))[0]
                )
                times["persisting alone"].append(
                    timed(lambda: write_messages(campaign, planned, {}, NOW))[0]
                )
                empty_messages()
                elapsed, written = timed(lambda: persist_plan(campaign, NOW))
                assert written == LEADS * STEPS, written
                times["planning + persisting"].append(elapsed)
                elapsed, again = timed(lambda: persist_plan(campaign, NOW))
                times["starting again"].append(elapsed)
                written_again.add(again)
    finally:
        drop_database(args.admin_url, url, prefix="campaigns_bench")

    baseline = statistics.median(times["COPY (baseline)"])
    print(
        f"{LEADS:,} leads x {STEPS} mails = {LEADS * STEPS:,} messages, 4 domains, {args.runs} runs"
        + (", daily cap 20, ramp 5 + 1 a working day" if args.warm_up else "")
    )
    print(f"{'step':<24}{'median s':>10}{'x COPY':>9}  target")
    targets = {"persisting alone": "<= 2.5x", "planning + persisting": "<= 3x"}
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"{name:<24}{median:>10.3f}{median / baseline:>9.2f}  {targets.get(name, '')}")
    print(f"rows written when starting again: {sorted(written_again)}")


FOUR_VARIANTS = [
    {"key": key, "weight": weight, "subject": f"Versie {key}: {{{{ company }}}}"}
    for weight, key in enumerate("ABCD", start=1)
]


def set_variants(campaign: Campaign, on: bool) -> None:
    for step in campaign.template.steps:
        step.variants = [dict(v) for v in FOUR_VARIANTS] if on else []
    db.session.commit()


def compare_variants(args: argparse.Namespace) -> None:
    """Planning + persisting with four variants per step against the same without."""
    url = create_database(args.admin_url, prefix="campaigns_bench")
    times: dict[str, list[float]] = {"without variants (baseline)": [], "four variants": []}
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url)})
        with app.app_context():
            upgrade()
            campaign = make_data(args.warm_up)
            for _ in range(args.runs):
                for name, on in (("without variants (baseline)", False), ("four variants", True)):
                    set_variants(campaign, on)
                    empty_messages()
                    elapsed, written = timed(lambda: persist_plan(campaign, NOW))
                    assert written == LEADS * STEPS, written
                    times[name].append(elapsed)
            keys = db.session.execute(
                sa.text("SELECT variant, count(*) FROM messages GROUP BY variant ORDER BY 1")
            ).all()
    finally:
        drop_database(args.admin_url, url, prefix="campaigns_bench")
    baseline = statistics.median(times["without variants (baseline)"])
    print(
        f"{LEADS:,} leads x {STEPS} mails = {LEADS * STEPS:,} messages, 4 domains, "
        f"{args.runs} runs, planning + persisting"
    )
    print(f"{'plan':<30}{'median s':>10}{'ratio':>8}  target")
    for name, samples in times.items():
        median = statistics.median(samples)
        target = "<= 1.1x" if name == "four variants" else ""
        print(f"{name:<30}{median:>10.3f}{median / baseline:>8.2f}  {target}")
    print("messages per variant (last run): " + ", ".join(f"{k}: {n:,}" for k, n in keys))


if __name__ == "__main__":
    main()
