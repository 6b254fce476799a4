"""Dispatcher and sender speed on PostgreSQL.

1. An idle dispatcher pass over 1,000,000 queued messages (all scheduled later),
   next to `SELECT 1` through the same session. Target: at most 4x.
2. Sends per second with 1 and with 2 worker processes against a local SMTP
   server that takes a fixed time per mail. Target: 2 workers at least 1.8x one.

Run: .venv/bin/python bench/dispatch.py [--messages 1000000] [--sends 200]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from tests.support.services import (  # noqa: E402
    create_database,
    drop_database,
    start_postgres,
    start_redis,
    start_smtp,
)
from webapp import create_app  # noqa: E402
from webapp.config import normalise_database_url  # noqa: E402
from webapp.database import new_id, utcnow  # noqa: E402
from webapp.extensions import db  # noqa: E402


def median_ms(action, repeat: int) -> float:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def copy_rows(connection, table: str, columns: list[str], rows) -> None:  # type: ignore[no-untyped-def]
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
    ):
        while chunk := buffer.read(1 << 20):
            copy.write(chunk)


def load(url: str, messages: int) -> None:
    """4 domains, 50 running campaigns, `messages` queued mails scheduled in the future."""
    import psycopg

    leads = messages // 4
    later = utcnow() + timedelta(days=30)
    with psycopg.connect(url) as connection:
        template = new_id()
        connection.execute("INSERT INTO templates (id, name) VALUES (%s, 'bench')", (template,))
        connection.execute(
            "INSERT INTO template_steps (id, template_id, mail_number, subject) "
            "VALUES (%s, %s, 1, 'x')",
            (new_id(), template),
        )
        domains = [f"bench{n}.nl" for n in range(4)]
        for n, name in enumerate(domains):
            connection.execute(
                "INSERT INTO sending_domains (id, name, label, aliases, working_days) "
                "VALUES (%s, %s, %s, '[]', '[1,2,3,4,5,6,7]')",
                (new_id(), name, f"v{n + 1}"),
            )
        campaigns = [new_id() for _ in range(50)]
        for campaign in campaigns:
            connection.execute(
                "INSERT INTO campaigns (id, name, template_id, status, domain) "
                "VALUES (%s, 'bench', %s, 'running', %s)",
                (campaign, template, domains[0]),
            )
        lead_ids = [new_id() for _ in range(leads)]
        copy_rows(
            connection,
            "leads",
            ["id", "email", "domain", "vars"],
            (
                (lid, f"lead{n}@bedrijf{n}.nl", f"bedrijf{n}.nl", "{}")
                for n, lid in enumerate(lead_ids)
            ),
        )
        copy_rows(
            connection,
            "messages",
            ["id", "campaign_id", "lead_id", "domain_used", "scheduled_at", "mail_number"],
            (
                (
                    new_id(),
                    campaigns[n % 50],
                    lead_ids[n],
                    domains[n % 4],
                    (later + timedelta(seconds=n)).isoformat(),
                    number,
                )
                for number in (1, 2, 3, 4)
                for n in range(leads)
            ),
        )
        connection.execute("ANALYZE")


def idle_pass(url: str, messages: int, repeat: int) -> tuple[float, float]:
    from webapp.services.sending.dispatch import dispatch_once

    app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url)})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        print(f"loading {messages:,} messages ...", flush=True)
        started = time.perf_counter()
        load(url, messages)
        print(f"loaded in {time.perf_counter() - started:.1f} s", flush=True)

        def select_one() -> None:
            db.session.execute(sa.text("SELECT 1"))
            db.session.commit()

        def idle() -> None:
            result = dispatch_once(utcnow(), enqueue=False)
            assert not result.claimed

        for _ in range(20):  # warm both paths
            select_one()
            idle()
        return median_ms(select_one, repeat), median_ms(idle, repeat)


def sends_per_second(admin_url: str, workers: int, sends: int, delay: float) -> float:
    """Time from the first to the last send with `workers` worker processes."""
    from tests.sending_support import make_domain, make_running_campaign

    url = create_database(admin_url, prefix="campaigns_bench")
    smtp = start_smtp()
    smtp.delay_seconds = delay
    redis = start_redis()
    processes: list[subprocess.Popen[bytes]] = []
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url)})
        with app.app_context():
            from flask_migrate import upgrade

            upgrade()
            domains = [make_domain(f"zender{n:02d}.nl", smtp.port, 1) for n in range(40)]
            db.session.commit()
            make_running_campaign(domains, leads=sends)
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "REDIS_URL": redis.url,
                "MAIL_BACKEND": "smtp",
                "DISPATCH_INTERVAL_SECONDS": "0.1",
                "SECRET_KEY": "bench",
            }
            for _ in range(workers):
                processes.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                        cwd=ROOT,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            smtp.wait_for(sends, timeout=600)
            first, last = db.session.execute(
                sa.text("SELECT min(sent_at), max(sent_at) FROM messages")
            ).one()
            db.session.remove()
            db.engine.dispose()
        return (sends - 1) / (last - first).total_seconds()
    finally:
        for process in processes:
            process.kill()
            process.wait()
        smtp.stop()
        redis.stop()
        drop_database(admin_url, url, prefix="campaigns_bench")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--sends", type=int, default=200)
    parser.add_argument("--smtp-delay", type=float, default=0.1)
    args = parser.parse_args()

    server = start_postgres()
    url = create_database(server.admin_url, prefix="campaigns_bench")
    try:
        select_ms, idle_ms = idle_pass(url, args.messages, args.repeat)
    finally:
        drop_database(server.admin_url, url, prefix="campaigns_bench")
    one = sends_per_second(server.admin_url, 1, args.sends, args.smtp_delay)
    two = sends_per_second(server.admin_url, 2, args.sends, args.smtp_delay)
    server.stop()

    print()
    print(f"| measurement ({args.messages:,} messages) | median | ratio | target |")
    print("| --- | --- | --- | --- |")
    print(f"| SELECT 1 | {select_ms:.3f} ms | 1.00x | |")
    print(f"| idle dispatcher pass | {idle_ms:.3f} ms | {idle_ms / select_ms:.2f}x | <= 4x |")
    print(f"| sends/s, 1 worker (SMTP {args.smtp_delay * 1000:.0f} ms) | {one:.1f} /s | 1.00x | |")
    print(f"| sends/s, 2 workers | {two:.1f} /s | {two / one:.2f}x | >= 1.8x |")


if __name__ == "__main__":
    main()
