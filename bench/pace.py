"""Does the pace the plan promises arrive? Lateness of real sends with only `flask worker`.

For each interval (10 s and 60 s), four sending domains with a local SMTP server each
get a campaign started through the product (its planner puts every mail on a slot);
then one `flask worker` on default settings sends for a few minutes. Lateness is
`sent_at - scheduled_at` of every mail whose slot has passed (one still unsent counts
as late as it is at the end). Baseline, in the same run: the same code with the
dispatcher on a fixed 60-second tick, as the worker had before (an `rq worker`
running the send jobs, and a pass every minute).

Also: what an idle worker costs, in CPU per minute, next to an idle `rq worker` that
runs no scheduler at all.

Run: .venv/bin/python bench/pace.py [--minutes 8] [--domains 4]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
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
from webapp.database import utcnow  # noqa: E402
from webapp.extensions import db  # noqa: E402

PREFIX = "campaigns_bench"


def worker_env(url: str, redis_url: str) -> dict[str, str]:
    """Default settings: nothing about dispatching is set."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DISPATCH_", "SEND_LEASE", "CAMPAIGNS_"))
    }
    env.update(DATABASE_URL=url, REDIS_URL=redis_url, MAIL_BACKEND="smtp", SECRET_KEY="bench")
    return env


def start_worker(kind: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    if kind == "flask":
        command = [sys.executable, "-m", "flask", "--app", "wsgi", "worker"]
    else:  # the send jobs alone, no scheduler
        command = [
            str(Path(sys.executable).parent / "rq"),
            "worker",
            "--worker-class",
            "rq.SimpleWorker",
            "--url",
            env["REDIS_URL"],
            "--logging_level",
            "WARNING",
            "sending",
            "default",
        ]
    return subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(admin_url: str, mode: str, interval: int, domains: int, minutes: float) -> dict[str, Any]:
    """One campaign sent for `minutes`; mode `wake` (the worker) or `minute` (fixed tick)."""
    from flask_migrate import upgrade

    from tests.factories import make_lead, make_template
    from tests.sending_support import make_domain
    from webapp.services.campaigns.lifecycle import apply_action, create_campaign
    from webapp.services.sending import dispatch_once

    url = create_database(admin_url, prefix=PREFIX)
    redis = start_redis()
    servers = [start_smtp() for _ in range(domains)]
    worker = None
    try:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
                "REDIS_URL": redis.url,
                "MAIL_BACKEND": "smtp",
            }
        )
        with app.app_context():
            upgrade()
            names = [
                make_domain(f"zender{n}.nl", server.port, interval).name
                for n, server in enumerate(servers)
            ]
            template = make_template(steps=1)
            slots = int(minutes * 60 / interval) + 3
            for _ in range(domains * slots):
                make_lead(list_name="bench")
            db.session.commit()
            worker = start_worker("flask" if mode == "wake" else "rq", worker_env(url, redis.url))
            time.sleep(5)  # the worker is up and idle
            campaign = create_campaign(
                {
                    "name": "pace",
                    "template_id": template.id,
                    "audience": {"list_names": ["bench"]},
                    "followup_enabled": False,
                    "domains": names,
                },
                None,
                utcnow(),
            )
            db.session.commit()
            apply_action(campaign, "start", None, utcnow())
            db.session.commit()  # wakes the worker's dispatcher through Redis
            end = time.monotonic() + minutes * 60
            while time.monotonic() < end:
                if mode == "minute":
                    dispatch_once(utcnow())
                    time.sleep(min(60.0, max(0.0, end - time.monotonic())))
                else:
                    time.sleep(1)
            stop = utcnow()
            rows = db.session.execute(
                sa.text(
                    "SELECT scheduled_at, sent_at FROM messages "
                    "WHERE campaign_id = :c AND scheduled_at <= :stop"
                ),
                {"c": campaign.id, "stop": stop},
            ).all()
            db.session.remove()
            db.engine.dispose()
        late = [((sent or stop) - due).total_seconds() for due, sent in rows]
        sent = sum(1 for _, s in rows if s is not None)
        return {
            "mode": mode,
            "interval": interval,
            "due": len(rows),
            "sent": sent,
            "p50": statistics.median(late) if late else 0.0,
            "p95": percentile(late, 0.95) if late else 0.0,
            "max": max(late) if late else 0.0,
        }
    finally:
        if worker is not None:
            worker.kill()
            worker.wait()
        for server in servers:
            server.stop()
        redis.stop()
        drop_database(admin_url, url, prefix=PREFIX)


def idle_cpu(admin_url: str, kind: str, seconds: float) -> dict[str, Any]:
    """CPU seconds an idle worker uses per minute (nothing queued at all)."""
    from flask_migrate import upgrade

    url = create_database(admin_url, prefix=PREFIX)
    redis = start_redis()
    worker = None
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": normalise_database_url(url)})
        with app.app_context():
            upgrade()
            db.session.remove()
            db.engine.dispose()
        worker = start_worker(kind, worker_env(url, redis.url))
        time.sleep(10)  # start-up costs are not idling
        before = cpu_seconds(worker.pid)
        time.sleep(seconds)
        used = cpu_seconds(worker.pid) - before
        return {"kind": kind, "cpu_ms_per_minute": used * 1000 * 60 / seconds}
    finally:
        if worker is not None:
            worker.kill()
            worker.wait()
        redis.stop()
        drop_database(admin_url, url, prefix=PREFIX)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def child(args: list[str]) -> dict[str, Any]:
    """Each measurement in its own process: its own SMTP threads, app and clock."""
    output = subprocess.run(
        [sys.executable, __file__, *args], cwd=ROOT, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=8.0)
    parser.add_argument("--domains", type=int, default=4)
    parser.add_argument("--idle-seconds", type=float, default=120.0)
    parser.add_argument("--run", nargs=2, metavar=("MODE", "INTERVAL"), help=argparse.SUPPRESS)
    parser.add_argument("--idle", metavar="KIND", help=argparse.SUPPRESS)
    parser.add_argument("--admin-url", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run:
        mode, interval = args.run
        print(json.dumps(run(args.admin_url, mode, int(interval), args.domains, args.minutes)))
        return
    if args.idle:
        print(json.dumps(idle_cpu(args.admin_url, args.idle, args.idle_seconds)))
        return

    server = start_postgres()
    common = ["--admin-url", server.admin_url, "--domains", str(args.domains)]
    jobs = [
        [*common, "--minutes", str(args.minutes), "--run", mode, str(interval)]
        for interval in (10, 60)
        for mode in ("wake", "minute")
    ] + [[*common, "--idle-seconds", str(args.idle_seconds), "--idle", k] for k in ("flask", "rq")]
    print(f"running {len(jobs)} measurements side by side for ~{args.minutes:g} min ...")
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        results = list(pool.map(child, jobs))
    server.stop()

    runs = {(r["mode"], r["interval"]): r for r in results if "mode" in r}
    idle = {r["kind"]: r["cpu_ms_per_minute"] for r in results if "kind" in r}
    print()
    print(
        f"| interval ({args.domains} domains, {args.minutes:g} min) | dispatcher | due | sent "
        "| lateness p50 | p95 | max | p95 ratio |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for interval in (10, 60):
        base = runs[("minute", interval)]
        for mode, label in (
            ("minute", "fixed 60 s tick (baseline)"),
            ("wake", "wakes for due mail"),
        ):
            r = runs[(mode, interval)]
            ratio = r["p95"] / base["p95"] if base["p95"] else float("nan")
            print(
                f"| {interval} s | {label} | {r['due']} | {r['sent']} | {r['p50']:.2f} s "
                f"| {r['p95']:.2f} s | {r['max']:.2f} s | {ratio:.4f}x |"
            )
    print()
    print("| idle worker | CPU per minute | ratio |")
    print("| --- | ---: | ---: |")
    print(f"| `rq worker` alone (baseline) | {idle['rq']:.0f} ms | 1.00x |")
    ratio = f"{idle['flask'] / idle['rq']:.2f}x" if idle["rq"] else "-"
    print(f"| `flask worker` | {idle['flask']:.0f} ms | {ratio} |")


if __name__ == "__main__":
    main()
