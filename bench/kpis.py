"""KPIs at scale: 1,000,000 messages over 50 campaigns on a fresh PostgreSQL database.

After loading (COPY, indexes built afterwards, summaries rebuilt) and then updating 10% of
the statuses with the triggers on, it measures in the same run:
  * one campaign's KPIs and timeline: the plain queries without the covering indexes
    (baseline), the plain queries with them, and the summary the app serves;
  * the overview: the plain full-table GROUP BY (baseline) against the summary,
    checking that both give the same numbers.
Targets: <= 0.25x the baseline. Medians of --runs runs.

    .venv/bin/python bench/kpis.py [--runs 7] [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]
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

import sqlalchemy as sa
from flask_migrate import upgrade

from tests.support.services import (
    DEFAULT_PG_ADMIN_URL,
    create_database,
    drop_database,
    sqlalchemy_url,
)
from webapp import create_app
from webapp.extensions import db
from webapp.models.kpis import COUNTERS
from webapp.services.kpis.overview import campaign_overview
from webapp.services.kpis.summaries import (
    campaign_kpis,
    campaign_timeline,
    plain_days,
    plain_totals,
    rebuild_summaries,
    summary_drift,
)

CAMPAIGNS = 50
LEADS_PER_CAMPAIGN = 5_000
MAILS = 4  # 50 x 5,000 x 4 = 1,000,000 messages
LEADS = 20_000
DOMAINS = (
    "punthelder-vindbaarheid.nl",
    "punthelder-marketing.nl",
    "punthelder-seo.nl",
    "punthelder-zoekmachine.nl",
)
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
SPAN = timedelta(days=150)
PREFIX = "campaigns_bench"
MESSAGE_COLUMNS = (
    "id",
    "campaign_id",
    "lead_id",
    "domain_used",
    "scheduled_at",
    "sent_at",
    "open_at",
    "mail_number",
    "status",
    "is_followup",
)
EVENT_COLUMNS = ("id", "message_id", "event_type", "meta", "created_at")
COVERING = ("idx_messages_kpis", "idx_message_events_kpis")


def hex_id(kind: int, number: int) -> str:
    return f"{kind:02x}{number:030x}"


def load(connection: Any) -> tuple[int, int]:
    """COPY the campaigns' messages and events, interleaved in time as real sending is."""
    rng = random.Random(2026)
    raw = connection.connection.driver_connection
    with raw.cursor() as cursor:
        cursor.execute("INSERT INTO templates (id, name) VALUES ('t', 'Bench')")
        with cursor.copy("COPY leads (id, email, domain, list_name) FROM STDIN") as copy:
            for n in range(LEADS):
                copy.write_row((hex_id(1, n), f"info@lead-{n}.nl", f"lead-{n}.nl", "bench"))
        with cursor.copy(
            "COPY campaigns (id, name, template_id, status, domain) FROM STDIN"
        ) as copy:
            for c in range(CAMPAIGNS):
                copy.write_row((hex_id(2, c), f"Campaign {c}", "t", "running", DOMAINS[c % 4]))
    plan = [
        (rng.random(), c, i, k)
        for c in range(CAMPAIGNS)
        for i in range(LEADS_PER_CAMPAIGN)
        for k in range(1, MAILS + 1)
    ]
    plan.sort()
    events = 0
    with raw.cursor() as cursor:
        with (
            cursor.copy(f"COPY messages ({', '.join(MESSAGE_COLUMNS)}) FROM STDIN") as copy,
        ):
            event_rows: list[tuple[Any, ...]] = []
            for number, (when, c, i, k) in enumerate(plan):
                mid = hex_id(3, number)
                scheduled = NOW - SPAN + SPAN * 1.1 * when  # ~9% still ahead
                lead = hex_id(1, (c * 400 + i) % LEADS)
                domain = DOMAINS[(c + i) % 4]
                status, sent_at, open_at = "queued", None, None
                if scheduled < NOW:
                    roll = rng.random()
                    if roll < 0.02:
                        status = "bounced"
                        event_rows.append(("bounced", mid, scheduled, None))
                    elif roll < 0.03:
                        status = "failed"
                    elif roll < 0.05:
                        status = "canceled"
                    elif roll < 0.06:
                        status = "queued"  # overdue: the 10% update sends some of these
                    else:
                        status, sent_at = "sent", scheduled
                        event_rows.append(("sent", mid, scheduled, None))
                        if rng.random() < 0.35:
                            status, open_at = "opened", scheduled + timedelta(hours=5)
                            machine = rng.random() < 0.3
                            event_rows.append(("opened", mid, open_at, machine))
                            if not machine and rng.random() < 0.15:
                                event_rows.append(("clicked", mid, open_at, False))
                        if rng.random() < 0.04:
                            event_rows.append(("replied", mid, scheduled + timedelta(days=1), None))
                        if rng.random() < 0.005:
                            event_rows.append(("unsubscribed", mid, scheduled, None))
                copy.write_row(
                    (mid, hex_id(2, c), lead, domain, scheduled, sent_at, open_at, k, status, k > 1)
                )
        with cursor.copy(f"COPY message_events ({', '.join(EVENT_COLUMNS)}) FROM STDIN") as copy:
            for number, (kind, mid, at, machine) in enumerate(event_rows):
                meta = None if machine is None else f'{{"machine": {str(machine).lower()}}}'
                copy.write_row((hex_id(4, number), mid, kind, meta, at))
            events = len(event_rows)
    return len(plan), events


def without_indexes(connection: Any, tables: tuple[str, ...]) -> list[str]:
    """Drop the tables' secondary indexes; returns the statements that rebuild them."""
    rows = connection.execute(
        sa.text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(:t)"
            " AND indexname NOT LIKE 'pk_%' AND indexname NOT LIKE 'uk_%'"
        ),
        {"t": list(tables)},
    ).all()
    for name, _ in rows:
        connection.execute(sa.text(f"DROP INDEX {name}"))
    return [definition for _, definition in rows]


def median(run: Callable[[], Any], runs: int) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(runs):
        db.session.expire_all()
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def per_campaign(totals: dict[Any, dict[str, int]]) -> dict[str, dict[str, int]]:
    result: dict[str, dict[str, int]] = {}
    for (campaign_id, _, _), counts in totals.items():
        row = result.setdefault(campaign_id, dict.fromkeys(COUNTERS, 0))
        for name, value in counts.items():
            row[name] += value
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--admin-url", default=DEFAULT_PG_ADMIN_URL)
    args = parser.parse_args()
    url = create_database(args.admin_url, PREFIX)
    try:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(url), "TESTING": True, "SECRET_KEY": "bench"}
        )
        with app.app_context():
            upgrade()
            run(args.runs)
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_database(args.admin_url, url, PREFIX)


def run(runs: int) -> None:
    connection = db.session.connection()
    start = time.perf_counter()
    rebuild = without_indexes(connection, ("messages", "message_events"))
    connection.execute(sa.text("SET session_replication_role = replica"))  # no triggers, no FKs
    messages, events = load(connection)
    connection.execute(sa.text("SET session_replication_role = DEFAULT"))
    for statement in rebuild:
        connection.execute(sa.text(statement))
    rebuild_summaries()
    db.session.commit()
    print(
        f"loaded {messages:,} messages and {events:,} events, indexes and summaries built "
        f"in {time.perf_counter() - start:.1f} s"
    )

    # 10% of the statuses change: overdue mails go out, sent ones are opened, a few bounce;
    # one bulk statement, as elsewhere in the product. First without the triggers (rolled
    # back) for the cost of the UPDATE itself, then for real, with them.
    update = sa.text("""
        UPDATE messages SET
          status = CASE WHEN status = 'queued' THEN 'sent' WHEN status = 'sent' THEN 'opened'
                        ELSE 'bounced' END,
          sent_at = CASE WHEN status = 'queued' THEN scheduled_at ELSE sent_at END,
          open_at = CASE WHEN status = 'sent' THEN sent_at + interval '3 hours' ELSE open_at END
        WHERE id IN (SELECT id FROM messages WHERE scheduled_at < :now
                     ORDER BY md5(id) LIMIT :n)
    """)
    values = {"now": NOW, "n": messages // 10}
    start = time.perf_counter()
    db.session.execute(sa.text("SET LOCAL session_replication_role = replica"))
    db.session.execute(update, values)
    bare_seconds = time.perf_counter() - start
    db.session.rollback()
    start = time.perf_counter()
    changed = db.session.execute(update, values).rowcount
    db.session.commit()
    update_seconds = time.perf_counter() - start
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    print(
        f"updated {changed:,} statuses (10%) in {update_seconds:.1f} s with the triggers, "
        f"{bare_seconds:.1f} s without"
    )
    drift = summary_drift()
    print(f"summary equals the plain aggregate: {drift == {'totals': [], 'days': []}}")

    campaign_id = db.session.execute(sa.text("SELECT min(id) FROM campaigns")).scalar()
    rows = []

    def plain_campaign() -> Any:
        return plain_totals(campaign_id), plain_days(campaign_id)

    def served_campaign() -> Any:
        return campaign_kpis(campaign_id), campaign_timeline(campaign_id)

    connection = db.session.connection()
    for name in COVERING:
        connection.execute(sa.text(f"DROP INDEX {name}"))
    base, base_result = median(plain_campaign, runs)
    db.session.rollback()  # the covering indexes are back
    covered, covered_result = median(plain_campaign, runs)
    served, _ = median(served_campaign, runs)
    assert base_result == covered_result
    rows.append(("one campaign: plain KPIs + timeline, no covering index (baseline)", base, base))
    rows.append(("one campaign: plain KPIs + timeline, covering indexes", covered, base))
    rows.append(("one campaign: KPIs + timeline from the summary (served)", served, base))

    plain_seconds, plain = median(lambda: per_campaign(plain_totals()), runs)
    summary_seconds, overview = median(campaign_overview, runs)
    same = (
        all(
            {k: row[k] for k in COUNTERS} == plain.get(row["id"], dict.fromkeys(COUNTERS, 0))
            for row in overview
        )
        and len(overview) == CAMPAIGNS
    )
    rows.append(("overview: plain full-table GROUP BY (baseline)", plain_seconds, plain_seconds))
    rows.append(("overview: from the summary", summary_seconds, plain_seconds))

    print(f"\n{'case':<68} {'median ms':>10} {'x baseline':>11}")
    for name, seconds, baseline in rows:
        print(f"{name:<68} {seconds * 1000:>10.2f} {seconds / baseline:>11.4f}")
    print(f"\noverview numbers equal the plain GROUP BY: {same}")


if __name__ == "__main__":
    main()
