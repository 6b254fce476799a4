"""Lead import against a raw COPY of the same rows, on a fresh PostgreSQL database each run.

    .venv/bin/python bench/import.py [--rows 100000] [--repeat 3] [--rss 100000,1000000]

Prints the median import time next to the median time of COPYing the same prepared rows
(what the import writes, made ready outside the clock), their ratio (target: <= 5x), and
the peak RSS of a whole import of each size in --rss, each in its own process.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.services import create_database, drop_database, sqlalchemy_url  # noqa: E402

ADMIN_URL = os.environ.get("BENCH_PG_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PREFIX = "campaigns_bench"


def write_csv(path: Path, rows: int) -> None:
    """A Dutch Excel-like export: semicolons, five columns, one company per row."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(["E-mailadres", "Bedrijfsnaam", "Website", "Voornaam", "Plaats"])
        for i in range(rows):
            writer.writerow(
                [f"info{i}@bedrijf-{i}.nl", f"Bedrijf {i} B.V.", f"https://www.bedrijf-{i}.nl",
                 "Jan", "Utrecht"]
            )  # fmt: skip


def prepared_rows(rows: int) -> list[tuple[Any, ...]]:
    """The rows the import writes for that file, ready for COPY."""
    from webapp.database import new_id, utcnow

    now = utcnow()
    out = []
    for i in range(rows):
        url = f"https://www.bedrijf-{i}.nl"
        values = {
            "company": f"Bedrijf {i} B.V.",
            "url": url,
            "first_name": "Jan",
            "city": "Utrecht",
        }
        out.append(
            (new_id(), f"info{i}@bedrijf-{i}.nl", values["company"], url, f"bedrijf-{i}.nl",
             "active", "bench", json.dumps(values), False, now, now)
        )  # fmt: skip
    return out


class FreshDatabase:
    """A new, migrated database; dropped on exit."""

    def __enter__(self) -> Any:
        from flask_migrate import upgrade

        from webapp import create_app

        self.url = create_database(ADMIN_URL, PREFIX)
        self.app = create_app(
            {"SQLALCHEMY_DATABASE_URI": sqlalchemy_url(self.url), "SECRET_KEY": "bench"}
        )
        self.context = self.app.app_context()
        self.context.push()
        import logging

        logging.getLogger("alembic").setLevel(logging.WARNING)
        upgrade()
        return self

    def __exit__(self, *exc: object) -> None:
        from webapp.extensions import db

        db.session.remove()
        db.engine.dispose()
        self.context.pop()
        drop_database(ADMIN_URL, self.url, PREFIX)


def time_import(path: Path) -> tuple[float, dict[str, Any]]:
    from webapp.extensions import db
    from webapp.services.leads.imports import import_file

    with FreshDatabase():
        start = time.perf_counter()
        summary = import_file(str(path), "bench")
        db.session.commit()
        return time.perf_counter() - start, summary.to_dict()


def time_copy(rows: list[tuple[Any, ...]]) -> float:
    import psycopg

    columns = (
        "id, email, company, url, domain, status, list_name, vars, stopped, created_at, updated_at"
    )
    with FreshDatabase() as fresh, psycopg.connect(fresh.url) as conn:
        start = time.perf_counter()
        with conn.cursor() as cursor, cursor.copy(f"COPY leads ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        return time.perf_counter() - start


def peak_rss_child(rows: int) -> None:
    """Run inside a subprocess: one whole import; prints the peak RSS in MiB."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "leads.csv"
        write_csv(path, rows)
        seconds, summary = time_import(path)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rows": rows, "seconds": seconds, "created": summary["created"],
                      "peak_rss_mib": peak_kib / 1024}))  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rss", default="100000,1000000", help="row counts for peak RSS; '' skips")
    parser.add_argument("--child-rss", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_rss:
        peak_rss_child(args.child_rss)
        return

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "leads.csv"
        write_csv(path, args.rows)
        rows = prepared_rows(args.rows)
        imports, copies = [], []
        for _ in range(args.repeat):
            seconds, summary = time_import(path)
            assert summary["created"] == args.rows, summary
            imports.append(seconds)
            copies.append(time_copy(rows))
    imported, copied = statistics.median(imports), statistics.median(copies)
    print(f"Lead import, {args.rows:,} rows, median of {args.repeat} (fresh database each run)")
    print(f"{'what':<28}{'seconds':>10}{'rows/s':>12}")
    print(f"{'COPY of the prepared rows':<28}{copied:>10.2f}{args.rows / copied:>12,.0f}")
    print(f"{'import_file (CSV -> leads)':<28}{imported:>10.2f}{args.rows / imported:>12,.0f}")
    print(f"ratio import / COPY: {imported / copied:.2f}x (target <= 5x)")

    for size in [int(n) for n in args.rss.split(",") if n.strip()]:
        out = subprocess.run(
            [sys.executable, __file__, "--child-rss", str(size)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"peak RSS, {size:>9,} rows: {result['peak_rss_mib']:.0f} MiB "
            f"(import {result['seconds']:.1f} s)"
        )


if __name__ == "__main__":
    main()
