"""Pages of the audit trail on a large trail, with and without the filter indexes of 0017.

    .venv/bin/python bench/audit_trail.py [--admin-url URL] [--events 1000000] [--runs 5]

Creates a throwaway database on the server (dropped at the end), migrates it, fills
`audit_events` with --events events over two years (20 people and the system, 31 actions,
a few people and actions rare), then times `list_events` for the first page and for a page
deep in the trail (by cursor) under each filter: first with only the indexes of 0001
(`created_at`; subject), then with those of 0017 as well (`(user_id, created_at, id)`,
`(action, created_at, id)`). It also times deleting a person, whose
events keep their rows with `user_id` set to NULL. Medians of --runs runs, in ms.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa
from flask_migrate import upgrade

from webapp import create_app
from webapp.config import normalise_database_url
from webapp.extensions import db
from webapp.models import User
from webapp.services.audit import AuditAction
from webapp.services.audit_trail import SYSTEM, TrailCursor, TrailFilter, list_events

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
NEW_INDEXES = {
    "idx_audit_events_user_created": "(user_id, created_at, id)",
    "idx_audit_events_action_created": "(action, created_at, id)",
}


def median_ms(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
        db.session.rollback()
    return statistics.median(times)


def fill(events: int) -> tuple[str, str]:
    """The events, by SQL; returns the ids of a busy person and of a rare one."""
    users = [User(email=f"p{n}@bench.nl", name=f"Person {n}", password_hash="x", role="admin")
             for n in range(20)]  # fmt: skip
    db.session.add_all(users)
    db.session.commit()
    ids = [u.id for u in users]
    actions = [a.value for a in AuditAction]
    # Eighteen people share most events, one acts once in 5,000; one action is rare too.
    db.session.execute(
        sa.text(
            """
            INSERT INTO audit_events (id, user_id, action, subject_type, subject_id, details,
                                      created_at)
            SELECT md5(g::text),
                   CASE WHEN g % 10 = 0 THEN NULL
                        WHEN g % 5000 = 1 THEN :rare_user
                        ELSE (CAST(:users AS text[]))[1 + (g::bigint * 7919 % 97) % 18] END,
                   CASE WHEN g % 4000 = 2 THEN :rare_action
                        ELSE (CAST(:actions AS text[]))[1 + (g::bigint * 104729 % 89) % 12] END,
                   'campaign', md5((g % 1000)::text), '{"messages": 12}',
                   TIMESTAMPTZ '2024-06-01 00:00+00'
                     + (g::float8 / :events) * INTERVAL '730 days'
            FROM generate_series(1, :events) AS g
            """
        ),
        {
            "users": ids[:18],
            "rare_user": ids[19],
            "actions": actions[:12],
            "rare_action": actions[-1],
            "events": events,
        },
    )
    db.session.commit()
    db.session.execute(sa.text("ANALYZE audit_events"))
    db.session.commit()
    return ids[0], ids[19]


def deep_cursor(chosen: TrailFilter, depth: int) -> TrailCursor | None:
    """The cursor of the page `depth` rows into the filter's events (found once, untimed)."""
    page = list_events(chosen, None, depth)
    if not page.items:
        return None
    last = page.items[-1].event
    return TrailCursor(last.created_at, last.id)


def scenarios(busy: str, rare: str) -> list[tuple[str, TrailFilter]]:
    rare_action = [a.value for a in AuditAction][-1]
    month = (datetime(2025, 3, 1, tzinfo=UTC), datetime(2025, 4, 1, tzinfo=UTC))
    return [
        ("everything", TrailFilter()),
        ("a busy person", TrailFilter(user_id=busy)),
        ("a rare person (1 in 5,000)", TrailFilter(user_id=rare)),
        ("the system", TrailFilter(user_id=SYSTEM)),
        ("a common action", TrailFilter(action="campaign.start")),
        ("a rare action (1 in 4,000)", TrailFilter(action=rare_action)),
        ("one month", TrailFilter(since=month[0], until=month[1])),
        ("busy person + action + month", TrailFilter(busy, "campaign.start", *month)),
    ]


def measure(busy: str, rare: str, runs: int) -> dict[str, tuple[float, float]]:
    figures = {}
    for name, chosen in scenarios(busy, rare):
        first = median_ms(lambda chosen=chosen: list_events(chosen), runs)
        cursor = deep_cursor(chosen, 10_000)
        deep = median_ms(lambda c=chosen, k=cursor: list_events(c, k), runs) if cursor else 0.0
        figures[name] = (first, deep)
    return figures


def set_indexes(new: bool) -> None:
    for name in NEW_INDEXES:
        db.session.execute(sa.text(f"DROP INDEX IF EXISTS {name}"))
    if new:
        for name, columns in NEW_INDEXES.items():
            db.session.execute(sa.text(f"CREATE INDEX {name} ON audit_events {columns}"))
    db.session.commit()
    db.session.execute(sa.text("ANALYZE audit_events"))
    db.session.commit()


def delete_person_ms(user_id: str, runs: int) -> float:
    def delete() -> None:
        db.session.execute(sa.delete(User).where(User.id == user_id))

    return median_ms(delete, runs)  # rolled back after each run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    options = parser.parse_args()
    name = f"bench_audit_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        normalise_database_url(options.admin_url), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE DATABASE {name}"))
    url = sa.make_url(normalise_database_url(options.admin_url)).set(database=name)
    try:
        database_url = url.render_as_string(hide_password=False)
        app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
        with app.app_context():
            upgrade()
            started = time.perf_counter()
            busy, rare = fill(options.events)
            print(f"{options.events:,} events written in {time.perf_counter() - started:.0f} s")
            results = {}
            for new in (False, True):
                set_indexes(new)
                results[new] = measure(busy, rare, options.runs)
                results[new]["delete a person (events kept)"] = (
                    delete_person_ms(rare, options.runs),
                    0.0,
                )
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    print(
        f"{'filter':34} {'0001 first':>11} {'0001 deep':>10} {'0017 first':>11} {'0017 deep':>10}"
    )
    for scenario in results[False]:
        old, new = results[False][scenario], results[True][scenario]
        print(f"{scenario:34} {old[0]:11.1f} {old[1]:10.1f} {new[0]:11.1f} {new[1]:10.1f}")


if __name__ == "__main__":
    main()
