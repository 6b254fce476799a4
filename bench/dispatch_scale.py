"""Do the dispatcher and workers keep their slots with 200 domains at a 60-second pace?

200 sending domains (interval 60 s, window open all day) share one local aiosmtpd
server that accepts everything. A running campaign has one mail per domain on every
minute's slot, all domains on the same grid as the planner puts them (200 mails fall
due at the same instant each minute), beside a background of queued mail for later.
Then real `flask worker` processes (RQ SimpleWorker + the scheduler) on a throwaway
Redis send for a few minutes.

Printed per run: sends per minute against the theoretical 200, lateness of each due
mail (`sent_at - scheduled_at`, an unsent one counting as late as it is at the end) and
of its claim (`claimed_at - scheduled_at`), the dispatcher's due passes (time and
statements), and each send job's cost (whole job, and its SMTP conversation).
Baseline in the same run: the per-domain pass the dispatcher had before (a lock, three
reads and a transaction per domain, a job enqueued per claim), with one worker.

A last run spreads the domains' slots over the minute (domain k at k x 0.3 s past it),
as a planner that staggers domains would: the same mail, no burst.

Run: .venv/bin/python bench/dispatch_scale.py [--minutes 3] [--domains 200]
     [--runs legacy:1,set:1,set:2,set:3,spread:1] (the first run is the baseline)
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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

PREFIX = "campaigns_bench"


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# --- the dispatcher before: one domain at a time ---------------------------------------


def legacy_dispatch_once(now: datetime, enqueue: bool = True) -> Any:
    """The per-domain pass as it was (a row lock, a transaction per domain)."""
    from webapp.queue import SEND_QUEUE, get_queue
    from webapp.services.sending import dispatch

    result = dispatch.DispatchResult()
    next_due, in_flight = dispatch._probe()
    if not in_flight and (next_due is None or next_due > now):
        db.session.commit()
        result.next_at = next_due
        return result
    if in_flight:
        result.requeued, result.uncertain = dispatch.settle_expired_claims(now)
        db.session.commit()
    busy = set(db.session.execute(dispatch.domains_in_flight()).scalars())
    domains = db.session.execute(
        sa.select(dispatch.SendingDomain)
        .where(dispatch.SendingDomain.paused.is_(False))
        .order_by(dispatch.SendingDomain.label)
    ).scalars()
    for domain in list(domains):
        claim, next_at = _legacy_turn(domain, now, busy)
        db.session.commit()
        if claim is not None:
            result.claimed.append(claim)
        result.expect(next_at)
    result.completed = dispatch.complete_finished_campaigns(now)
    db.session.commit()
    if enqueue:
        for message_id, token in result.claimed:
            get_queue().enqueue("send_message", message_id, token, queue=SEND_QUEUE)
    return result


def _legacy_turn(domain: Any, now: datetime, busy: set[str]) -> tuple[Any, datetime | None]:
    from webapp.models import Message, MessageStatus, SendingDomain
    from webapp.services.sending import dispatch
    from webapp.services.sending.claims import next_message
    from webapp.services.sending.rules import pace_gap

    closed, opens = dispatch._not_yet(domain, now)
    if closed:
        return None, opens
    if domain.name in busy:
        return None, now + dispatch.RECHECK
    locked = db.session.execute(
        sa.select(SendingDomain)
        .where(SendingDomain.id == domain.id, SendingDomain.paused.is_(False))
        .with_for_update(skip_locked=True)
    ).scalar_one_or_none()
    if locked is None:
        return None, now + dispatch.RECHECK
    closed, opens = dispatch._not_yet(locked, now)
    if closed:
        return None, opens
    in_flight = db.session.execute(
        sa.select(Message.id)
        .where(Message.domain_used == domain.name, Message.status == MessageStatus.SENDING)
        .limit(1)
    ).first()
    if in_flight is not None:
        return None, now + dispatch.RECHECK
    candidate = db.session.execute(next_message(sa.literal(domain.name))).first()
    if candidate is None:
        return None, None
    message_id, due = candidate
    if due > now:
        return None, due
    token = secrets.token_hex(16)
    claimed = db.session.execute(
        sa.update(Message)
        .where(Message.id == message_id, Message.status == MessageStatus.QUEUED)
        .values(status=MessageStatus.SENDING, claim_token=token, claimed_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None, now + dispatch.RECHECK
    return (message_id, token), now + pace_gap(domain.interval_seconds)


# --- a worker process that records its passes and jobs ---------------------------------


def worker_main(mode: str, record: str) -> None:
    """`flask worker` as is, with the pass and the send job timed into `record`."""
    import webapp.jobs
    import webapp.worker
    from webapp.services.sending import dispatch, send
    from webapp.worker import run_worker

    app = create_app()
    log = open(record, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    statements = [0]

    def count(*_: Any) -> None:  # the pass runs on the scheduler thread, jobs on the main one
        if threading.current_thread().name == "scheduler":
            statements[0] += 1

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", count)
    run_pass = legacy_dispatch_once if mode == "legacy" else dispatch.dispatch_once  # set, spread

    def timed_pass(now: datetime, enqueue: bool = True) -> Any:
        statements[0] = 0
        started = time.perf_counter()
        result = run_pass(now, enqueue)
        elapsed = (time.perf_counter() - started) * 1000
        if result.claimed:
            log.write(
                json.dumps(
                    {"pass": elapsed, "statements": statements[0], "claimed": len(result.claimed)}
                )
                + "\n"
            )
        return result

    deliver = send._deliver

    def timed_deliver(*args: Any) -> Any:
        started = time.perf_counter()
        try:
            return deliver(*args)
        finally:
            log.write(json.dumps({"smtp": (time.perf_counter() - started) * 1000}) + "\n")

    job = webapp.jobs.send_message

    def timed_job(message_id: str, claim_token: str) -> str:
        started = time.perf_counter()
        try:
            return job(message_id, claim_token)
        finally:
            log.write(json.dumps({"job": (time.perf_counter() - started) * 1000}) + "\n")

    webapp.worker.dispatch_once = timed_pass  # type: ignore[assignment]
    send._deliver = timed_deliver  # type: ignore[assignment]
    webapp.jobs.send_message = timed_job  # type: ignore[assignment]
    run_worker(app)


# --- one run -----------------------------------------------------------------------------


def load(smtp_port: int, domains: int, minutes: float, background: int, spread: bool) -> datetime:
    """The domains, a campaign with a mail per domain per minute from the first slot on,
    and `background` queued mails a month later; returns the first slot. `spread` puts
    each domain's slot at its own second of the minute instead of all on the minute."""
    from flask_migrate import upgrade

    from tests.factories import make_template
    from tests.sending_support import make_domain
    from webapp.models import Campaign, Lead, Message

    upgrade()
    names = [make_domain(f"zender{n:03d}.nl", smtp_port, 60).name for n in range(domains)]
    template = make_template(steps=1)
    slots = int(minutes) + 1
    first = (utcnow() + timedelta(seconds=40)).replace(microsecond=0)
    campaign = Campaign(name="schaal", template_id=template.id, status="running", domain=names[0])
    db.session.add(campaign)
    db.session.flush()
    leads = [
        {
            "id": new_id(),
            "email": f"info@bedrijf{n}.nl",
            "domain": f"bedrijf{n}.nl",
            "company": f"Bedrijf {n}",
            "list_name": "schaal",
            "vars": {"company": f"Bedrijf {n}"},
        }
        for n in range(domains * slots)
    ]
    db.session.execute(sa.insert(Lead), leads)
    db.session.execute(
        sa.insert(Message),
        [
            {
                "id": new_id(),
                "campaign_id": campaign.id,
                "lead_id": lead["id"],
                "domain_used": names[n % domains],
                "alias": "christian",
                "from_email": f"christian@{names[n % domains]}",
                "scheduled_at": first
                + timedelta(minutes=n // domains)
                + (timedelta(seconds=60 * (n % domains) / domains) if spread else timedelta(0)),
                "mail_number": 1,
            }
            for n, lead in enumerate(leads)
        ],
    )
    # Mail queued for later (a lead's four mails per campaign), as at an agency's scale.
    for _ in range(-(-background // (4 * len(leads)))):
        later = Campaign(name="later", template_id=template.id, status="running", domain=names[0])
        db.session.add(later)
        db.session.flush()
        db.session.execute(
            sa.text(
                "INSERT INTO messages (id, campaign_id, lead_id, domain_used, scheduled_at, "
                "mail_number, status) "
                "SELECT md5(random()::text || n || m), :campaign, l.id, "
                "'zender' || lpad((n % :d)::text, 3, '0') || '.nl', "
                "now() + interval '30 days' + (n * 4 + m) * interval '1 second', m, 'queued' "
                "FROM (SELECT id, row_number() OVER () AS n FROM leads) l, generate_series(1, 4) m"
            ),
            {"campaign": later.id, "d": domains},
        )
    db.session.commit()
    db.session.execute(sa.text("ANALYZE"))
    db.session.commit()
    return first


def run(
    admin_url: str, mode: str, workers: int, domains: int, minutes: float, background: int
) -> dict[str, Any]:
    url = create_database(admin_url, prefix=PREFIX)
    redis = start_redis()
    smtp = start_smtp()
    record = Path(f"/tmp/dispatch_scale_{os.getpid()}_{mode}_{workers}.jsonl")
    record.unlink(missing_ok=True)
    processes: list[subprocess.Popen[bytes]] = []
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url)})
        with app.app_context():
            first = load(smtp.port, domains, minutes, background, mode == "spread")
            env = {
                k: v for k, v in os.environ.items() if not k.startswith(("DISPATCH_", "CAMPAIGNS_"))
            }
            env.update(
                DATABASE_URL=url, REDIS_URL=redis.url, MAIL_BACKEND="smtp", SECRET_KEY="bench"
            )
            for _ in range(workers):
                processes.append(
                    subprocess.Popen(
                        [sys.executable, __file__, "--worker", mode, "--record", str(record)],
                        cwd=ROOT,
                        env=env,
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            # Each of the `minutes` slots has had its minute (all but a second) when it stops.
            stop_at = first + timedelta(minutes=minutes, seconds=-1)
            while utcnow() < stop_at:
                time.sleep(1)
            stop = utcnow()
            rows = db.session.execute(
                sa.text(
                    "SELECT scheduled_at, claimed_at, sent_at FROM messages "
                    "WHERE campaign_id = (SELECT id FROM campaigns WHERE name = 'schaal') "
                    "AND scheduled_at < :stop"
                ),
                {"stop": stop},
            ).all()
            db.session.remove()
            db.engine.dispose()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait()
        smtp.stop()
        redis.stop()
        drop_database(admin_url, url, prefix=PREFIX)
    late = [((sent or stop) - due).total_seconds() for due, _, sent in rows]
    claim_late = [((claimed or stop) - due).total_seconds() for due, claimed, _ in rows]
    sent = sum(1 for *_, s in rows if s is not None)
    records = [json.loads(line) for line in record.read_text().splitlines()]
    record.unlink()
    passes = [r for r in records if "pass" in r]
    return {
        "mode": mode,
        "workers": workers,
        "due": len(rows),
        "sent": sent,
        "per_minute": sent / minutes,
        "share": sent / len(rows),
        "late": [statistics.median(late), percentile(late, 0.95), max(late)],
        "claim_late": [statistics.median(claim_late), percentile(claim_late, 0.95)],
        "pass_ms": [
            statistics.median(r["pass"] for r in passes),
            percentile([r["pass"] for r in passes], 0.95),
        ]
        if passes
        else [0, 0],
        "statements": statistics.median(r["statements"] for r in passes) if passes else 0,
        "claims_per_pass": statistics.median(r["claimed"] for r in passes) if passes else 0,
        "job_ms": statistics.median(r["job"] for r in records if "job" in r),
        "smtp_ms": statistics.median(r["smtp"] for r in records if "smtp" in r),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=int, default=3)
    parser.add_argument("--domains", type=int, default=200)
    parser.add_argument(
        "--runs",
        default="legacy:1,set:1,set:2,set:3,spread:1",
        help="pass:workers, pass one of legacy (baseline), set, spread (set, slots spread)",
    )
    parser.add_argument("--background", type=int, default=100_000)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--record", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main(args.worker, args.record)
        return

    server = start_postgres()
    runs = [(mode, int(n)) for mode, n in (run.split(":") for run in args.runs.split(","))]
    results = []
    try:
        for mode, workers in runs:
            print(f"{mode} pass, {workers} worker(s), {args.minutes:g} min ...", flush=True)
            results.append(
                run(server.admin_url, mode, workers, args.domains, args.minutes, args.background)
            )
            print(json.dumps(results[-1]), flush=True)
    finally:
        server.stop()

    base = results[0]
    print()
    print(
        f"| pass ({args.domains} domains, 60 s, {args.minutes:g} min) | workers | due | sent "
        "| sends/min | sent of due | lateness p50 | p95 | max | claim p95 "
        "| pass p50 | pass p95 | statements | p95 ratio |"
    )
    print("| --- " + "| ---: " * 13 + "|")
    for r in results:
        label = {
            "legacy": "per domain (baseline)",
            "set": "set-based",
            "spread": "set-based, slots spread over the minute",
        }[r["mode"]]
        print(
            f"| {label} | {r['workers']} | {r['due']} | {r['sent']} | {r['per_minute']:.1f} "
            f"| {r['share']:.1%} | {r['late'][0]:.2f} s | {r['late'][1]:.2f} s "
            f"| {r['late'][2]:.2f} s | {r['claim_late'][1]:.2f} s | {r['pass_ms'][0]:.0f} ms "
            f"| {r['pass_ms'][1]:.0f} ms | {r['statements']:.0f} "
            f"| {r['late'][1] / base['late'][1]:.2f}x |"
        )
    print()
    print("| pass | workers | send job median | of which SMTP |")
    print("| --- | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['mode']} | {r['workers']} | {r['job_ms']:.1f} ms | {r['smtp_ms']:.1f} ms |")


if __name__ == "__main__":
    main()
