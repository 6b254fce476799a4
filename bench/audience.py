"""The audience preview of a 40,000-lead list inside 200,000 leads.

Measured against the reference SQL (the original review's audience queries chained in the
order of docs/rules.md, as in tests/services/test_audience.py) run directly with psycopg, in
the same run, on a fresh PostgreSQL database. Targets: the preview <= 1.5x the reference, <= 2 SQL
statements per preview.

    .venv/bin/python bench/audience.py [--runs 15] [--admin-url postgresql://...]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import psycopg
from flask_migrate import upgrade
from sqlalchemy import event

from tests.services.test_audience import reference_funnel
from tests.support.services import (
    DEFAULT_PG_ADMIN_URL,
    create_database,
    drop_database,
    sqlalchemy_url,
)
from webapp import create_app
from webapp.database import new_id
from webapp.extensions import db
from webapp.models import Suppression, Template, TemplateStep
from webapp.services.campaigns.audience import AudienceFilters, preview_audience, selected_lead_ids

LEADS, LIST_SIZE = 200_000, 40_000
NOW = datetime(2027, 1, 4, 6, 0, tzinfo=UTC)
FREE = ("gmail.com", "hotmail.com", "ziggo.nl", "kpnmail.nl", "outlook.com")


def make_leads(connection: Any) -> None:
    """200,000 leads over five lists, with every edge the filters look at."""
    rng = random.Random(7)
    lists = ["target"] + [f"other-{n}" for n in range(4)]
    rows = []
    for i in range(LEADS):
        list_name = lists[0] if i < LIST_SIZE else lists[1 + i % 4]
        roll = rng.random()
        if roll < 0.04:  # free mail: a person
            domain = rng.choice(FREE)
        elif roll < 0.16:  # colleagues at one company
            domain = f"groep{rng.randrange(LEADS // 40)}.nl"
        else:
            domain = f"bedrijf{i}.nl"
        email = f"p{i}@{domain}"
        variables = {"company": f"Bedrijf {i}", "url": f"https://{domain}", "first_name": "Jan"}
        edge = rng.random()
        if edge < 0.03:
            variables["company"] = " "
        elif edge < 0.05:
            del variables["url"]
        elif edge < 0.06:
            del variables["first_name"]
        status = "active"
        if rng.random() < 0.02:
            status = rng.choice(("suppressed", "bounced"))
        emailed = NOW - timedelta(days=rng.randrange(60)) if rng.random() < 0.08 else None
        deleted = NOW - timedelta(days=1) if rng.random() < 0.01 else None
        created = NOW - timedelta(seconds=rng.randrange(90 * 86400))
        rows.append((new_id(), email, domain, list_name, status, emailed, rng.random() < 0.01,
                     deleted, psycopg.types.json.Jsonb(variables), created, created))  # fmt: skip
    columns = "id, email, domain, list_name, status, last_emailed_at, stopped, deleted_at, "
    columns += "vars, created_at, updated_at"
    with connection.cursor() as cursor, cursor.copy(f"COPY leads ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    for n in range(0, LEADS, 97):
        db.session.add(Suppression(email=rows[n][1].upper(), reason="unsubscribed"))
    for n in range(0, LEADS // 40, 50):
        db.session.add(Suppression(domain=f"groep{n}.nl", reason="manual"))


def median(fn: Callable[[], Any], runs: int) -> float:
    fn()  # warm caches and prepared plans
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--admin-url", default=DEFAULT_PG_ADMIN_URL)
    args = parser.parse_args()

    url = create_database(args.admin_url, prefix="campaigns_test")
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url), "TESTING": True})
        with app.app_context():
            upgrade()
            template = Template(name="Bench")
            template.steps = [
                TemplateStep(mail_number=1, subject="Hallo {{ first_name }}", body_text="{{ url }}")
            ]
            db.session.add(template)
            make_leads(db.session.connection().connection.driver_connection)
            db.session.commit()
            with psycopg.connect(url, autocommit=True) as pg:
                pg.execute("ANALYZE")
                run(app, pg, template.id, args.runs)
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_database(args.admin_url, url, prefix="campaigns_test")


def run(app: Any, pg: Any, template_id: str, runs: int) -> None:
    filters = AudienceFilters(list_names=("target",), one_per_domain=True, template_id=template_id)
    variables = ["first_name"]
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db.engine, "before_cursor_execute", count)
    preview = preview_audience(filters, NOW)
    db.session.expunge_all()
    per_preview = len(statements)
    event.remove(db.engine, "before_cursor_execute", count)

    expected = reference_funnel(pg, filters, NOW, variables, ids=False)
    assert (preview.total, preview.removed, preview.selected) == (
        expected["total"],
        expected["removed"],
        expected["selected"],
    ), (preview, expected)
    assert selected_lead_ids(filters, NOW) == reference_funnel(pg, filters, NOW, variables)["ids"]

    def fresh_preview() -> Any:
        db.session.expunge_all()  # the template is loaded every time, as in a request
        return preview_audience(filters, NOW)

    rows = [
        ("reference SQL, counts (psycopg)", median(
            lambda: reference_funnel(pg, filters, NOW, variables, ids=False), runs)),
        ("preview_audience (funnel + sample)", median(fresh_preview, runs)),
        ("reference SQL, counts + ids (psycopg)", median(
            lambda: reference_funnel(pg, filters, NOW, variables), runs)),
        ("selected_lead_ids (the snapshot)", median(
            lambda: selected_lead_ids(filters, NOW), runs)),
    ]  # fmt: skip
    print(f"{LIST_SIZE:,} leads in the list, {LEADS:,} in all; selected {preview.selected:,}; "
          f"removed {preview.removed}; median of {runs} runs")  # fmt: skip
    print(f"SQL statements per preview: {per_preview}")
    print()
    print("| case | median ms | x reference |")
    print("| --- | ---: | ---: |")
    for i, (name, seconds) in enumerate(rows):
        baseline = rows[0][1] if i < 2 else rows[2][1]
        print(f"| {name} | {seconds * 1000:.1f} | {seconds / baseline:.2f} |")


if __name__ == "__main__":
    main()
