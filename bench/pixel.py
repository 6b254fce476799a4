"""The open pixel under load, next to the same GIF without the database.

gunicorn serves the app on 127.0.0.1 against a fresh, migrated PostgreSQL database holding
N sent messages. A load generator (`wrk` when installed, else a Python asyncio client)
requests the pixel with valid tokens and a desktop browser's user agent (every hit records
a human `opened` event, the costliest kind to summarise), alternating
with `/baseline/pixel.gif`: a minimal Flask app in the same gunicorn that answers the same
GIF without touching the database (bench/pixel_wsgi.py). A second gunicorn serves the app
with `TRACKING_BUFFER` off, every hit written in its request, for comparison. Rounds
alternate to even out noise on a shared machine; the table shows the median round.
Targets: the (buffered) pixel at least 0.5x the baseline's throughput, p99 under 50 ms, and
every answered hit recorded: events are counted after a graceful stop of both servers,
which writes what the workers still held in their buffers.

Run: .venv/bin/python bench/pixel.py [--messages 2000] [--seconds 5] [--rounds 3]
     [--connections 8] [--workers 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from tests.support.services import (  # noqa: E402
    DEFAULT_PG_ADMIN_URL,
    create_database,
    drop_database,
    free_port,
)
from webapp import create_app  # noqa: E402
from webapp.config import normalise_database_url  # noqa: E402
from webapp.database import new_id, utcnow  # noqa: E402
from webapp.extensions import db  # noqa: E402

SECRET = "bench-pixel-secret"
# A person's mail client, so every hit is a human open: the costliest kind to summarise
# (machine opens, most opens in practice, change no KPI and skip that work).
USER_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
PREFIX = "campaigns_bench"

WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local i = math.random(#paths)
request = function()
  i = i % #paths + 1
  return wrk.format("GET", paths[i], {["User-Agent"] = os.getenv("BENCH_USER_AGENT")})
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "seconds": %f, "p50_us": %d, "p99_us": %d, '
    .. '"non_2xx": %d, "errors": %d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def seed(app, messages: int) -> list[str]:  # type: ignore[no-untyped-def]
    """A template, a running campaign, and `messages` sent messages; their pixel paths."""
    from flask_migrate import upgrade

    from webapp.models import Campaign, Lead, Message, Template
    from webapp.services.tracking.links import open_pixel_url

    with app.app_context():
        upgrade()
        template = Template(name="Bench")
        db.session.add(template)
        db.session.flush()
        campaign = Campaign(name="Bench", template_id=template.id, status="running")
        db.session.add(campaign)
        db.session.flush()
        sent_at = utcnow() - timedelta(days=1)
        leads = [{"id": new_id(), "email": f"lead{n}@bench-{n}.nl"} for n in range(messages)]
        db.session.execute(sa.insert(Lead), leads)
        rows = [
            {
                "id": new_id(),
                "campaign_id": campaign.id,
                "lead_id": lead["id"],
                "domain_used": "punthelder-seo.nl",
                "scheduled_at": sent_at,
                "sent_at": sent_at,
                "status": "sent",
            }
            for lead in leads
        ]
        db.session.execute(sa.insert(Message), rows)
        db.session.commit()
        base = app.config["PUBLIC_BASE_URL"]
        return [open_pixel_url(row["id"]).removeprefix(base) for row in rows]


def count_opens(app) -> int:  # type: ignore[no-untyped-def]
    from webapp.models import MessageEvent

    with app.app_context():
        query = sa.select(sa.func.count()).where(MessageEvent.event_type == "opened")
        return int(db.session.scalar(query) or 0)


def start_gunicorn(
    port: int,
    database_url: str,
    workers: int,
    app_spec: str = "bench.pixel_wsgi:app",
    probe: str = "/baseline/pixel.gif",
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": SECRET,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "MAIL_BACKEND": "outbox",
        # Every hit writes its event: the costliest case (repeats of one token within a
        # minute are otherwise left out, and the count check below would not hold).
        "OPEN_REPEAT_SECONDS": "0",
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--chdir",
            str(ROOT),
            "--log-level",
            "warning",
            app_spec,
        ],
        env=env,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{probe}", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("gunicorn did not start")


def run_wrk(port: int, paths_file: Path, seconds: int, connections: int) -> dict[str, float]:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT)
    try:
        output = subprocess.run(
            [
                "wrk",
                "--threads",
                "2",
                "--connections",
                str(connections),
                "--duration",
                f"{seconds}s",
                "--timeout",
                "5s",
                "--script",
                script.name,
                f"http://127.0.0.1:{port}",
            ],
            env={**os.environ, "BENCH_PATHS": str(paths_file), "BENCH_USER_AGENT": USER_AGENT},
            capture_output=True,
            text=True,
            check=True,
            timeout=seconds + 30,
        ).stdout
    finally:
        os.unlink(script.name)
    line = next(line for line in output.splitlines() if line.startswith("RESULT "))
    result = json.loads(line.removeprefix("RESULT "))
    return {
        "requests": result["requests"],
        "rps": result["requests"] / result["seconds"],
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
        "failed": result["non_2xx"] + result["errors"],
    }


async def _python_client(
    port: int, paths: list[str], seconds: int, connections: int
) -> dict[str, float]:
    """A fallback load generator: one request per connection, like gunicorn's sync workers."""
    latencies: list[float] = []
    failed = 0
    deadline = time.perf_counter() + seconds

    async def worker(offset: int) -> None:
        nonlocal failed
        n = offset
        while time.perf_counter() < deadline:
            path = paths[n % len(paths)]
            n += connections
            started = time.perf_counter()
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {USER_AGENT}"
                writer.write(f"{head}\r\n\r\n".encode())
                await writer.drain()
                status = await reader.readline()
                await reader.read()
                writer.close()
                if b" 200 " not in status:
                    failed += 1
            except OSError:
                failed += 1
                continue
            latencies.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "failed": failed,
    }


def load(port: int, paths: list[str], paths_file: Path, args: argparse.Namespace) -> dict:  # type: ignore[type-arg]
    if shutil.which("wrk"):
        return run_wrk(port, paths_file, args.seconds, args.connections)
    return asyncio.run(_python_client(port, paths, args.seconds, args.connections))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    args.seconds = min(args.seconds, 60)  # bounded: this hammers the machine it runs on

    admin_url = os.environ.get("TEST_PG_ADMIN_URL") or DEFAULT_PG_ADMIN_URL
    database_url = create_database(admin_url, prefix=PREFIX)
    port = free_port()
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
            "SECRET_KEY": SECRET,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        }
    )
    server = unbuffered = None
    unbuffered_port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="bench-pixel-"))
    try:
        paths = seed(app, args.messages)
        pixel_file = workdir / "pixel.txt"
        pixel_file.write_text("\n".join(paths) + "\n")
        baseline_file = workdir / "baseline.txt"
        baseline_file.write_text("/baseline/pixel.gif\n")
        server = start_gunicorn(port, database_url, args.workers)
        # Same tokens: both servers share SECRET_KEY, and PUBLIC_BASE_URL is not checked.
        unbuffered = start_gunicorn(
            unbuffered_port,
            database_url,
            args.workers,
            app_spec="webapp:create_app({'TRACKING_BUFFER': False})",
            probe="/t/o/x.gif",
        )
        tool = "wrk" if shutil.which("wrk") else "python asyncio client"
        print(
            f"{args.messages} sent messages, gunicorn {args.workers} sync workers, {tool}, "
            f"{args.connections} connections, {args.rounds} x {args.seconds} s per case"
        )
        warm = argparse.Namespace(**{**vars(args), "seconds": 1})
        load(port, ["/baseline/pixel.gif"], baseline_file, warm)
        load(port, paths, pixel_file, warm)
        load(unbuffered_port, paths, pixel_file, warm)
        time.sleep(1)  # the warm-up's hits are written before counting starts
        opens_before = count_opens(app)

        results: dict[str, list[dict]] = {"baseline": [], "pixel": [], "unbuffered": []}  # type: ignore[type-arg]
        for _ in range(args.rounds):
            results["baseline"].append(load(port, ["/baseline/pixel.gif"], baseline_file, args))
            results["pixel"].append(load(port, paths, pixel_file, args))
            results["unbuffered"].append(load(unbuffered_port, paths, pixel_file, args))
        time.sleep(1)  # let the last in-flight requests finish
        for process in (server, unbuffered):  # a graceful stop writes what is still buffered
            process.terminate()
            process.wait(timeout=60)
        recorded = count_opens(app) - opens_before
    finally:
        for process in (server, unbuffered):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=60)
        with app.app_context():
            db.engine.dispose()
        drop_database(admin_url, database_url, prefix=PREFIX)
        shutil.rmtree(workdir, ignore_errors=True)

    def median(case: str, key: str) -> float:
        return statistics.median(r[key] for r in results[case])

    base_rps = median("baseline", "rps")
    print()
    print("| case | requests/s | p50 ms | p99 ms | failed | x baseline |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for case, label in (
        ("baseline", "same GIF, no database (baseline)"),
        ("pixel", "open pixel, valid tokens (buffered)"),
        ("unbuffered", "open pixel, written in the request"),
    ):
        rps = median(case, "rps")
        print(
            f"| {label} | {rps:,.0f} | {median(case, 'p50_ms'):.1f} | "
            f"{median(case, 'p99_ms'):.1f} | {sum(r['failed'] for r in results[case])} | "
            f"{rps / base_rps:.2f} |"
        )
    answered = sum(
        r["requests"] - r["failed"] for case in ("pixel", "unbuffered") for r in results[case]
    )
    print()
    print(f"pixel hits answered: {answered}, opened events recorded: {recorded}")
    ratio = median("pixel", "rps") / base_rps
    p99 = median("pixel", "p99_ms")
    print(
        f"targets: ratio {ratio:.2f} >= 0.5: {'ok' if ratio >= 0.5 else 'MISSED'}; "
        f"p99 {p99:.1f} ms < 50: {'ok' if p99 < 50 else 'MISSED'}; "
        f"every hit recorded: {'ok' if recorded >= answered else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
