"""The whole demo: leads and users, then campaigns in every state, then their history."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from webapp.demo.campaigns import seed_demo_campaigns
from webapp.demo.seed import seed_demo
from webapp.extensions import db
from webapp.models import ImportJob, ImportStatus


def seed_demo_world(now: datetime, if_empty: bool = False) -> dict[str, Any]:
    """Seed everything the demo shows; flushes, the caller commits."""
    summary: dict[str, Any] = dict(seed_demo(if_empty=if_empty))
    if not summary["seeded"]:
        return summary
    summary["campaigns"] = seed_demo_campaigns(now)["campaigns"]
    summary["imports"] = _seed_import_history(now)
    return summary


def _seed_import_history(now: datetime) -> int:
    """One finished import per demo list, so the import history tells where leads came from."""
    if db.session.execute(sa.select(ImportJob.id).limit(1)).first() is not None:
        return 0
    lists = [
        ("mkb-utrecht", "kvk-export-utrecht.csv", 800, 3),
        ("horeca-amsterdam", "horeca-amsterdam-2026.xlsx", 500, 1),
        ("bouw-brabant", "bouwbedrijven brabant.csv", 500, 0),
        ("advocaten-randstad", "advocaten_randstad;export.csv", 300, 2),
    ]
    for days_ago, (list_name, filename, rows, bad) in enumerate(lists, start=60):
        finished = now - timedelta(days=days_ago)
        errors = [
            {"line": 17 + 41 * n, "message": "not an email address: the @ is missing"}
            for n in range(bad)
        ]
        db.session.add(
            ImportJob(
                list_name=list_name,
                filename=filename,
                status=ImportStatus.DONE,
                options={"encoding": "cp1252", "delimiter": ";"},
                processed_rows=rows + bad,
                summary={
                    "created": rows,
                    "updated": 0,
                    "unchanged": 0,
                    "skipped": bad,
                    "errors": errors,
                },
                created_at=finished - timedelta(seconds=40),
                finished_at=finished,
            )
        )
    return len(lists)
