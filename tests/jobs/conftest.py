"""Workers as real subprocesses (`flask --app wsgi worker`) on the test database and Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.support.services import RedisServer
from webapp.extensions import db
from webapp.models import Message

ROOT = Path(__file__).resolve().parents[2]


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()  # see other processes' commits
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def status_counts(campaign_id: str | None = None) -> dict[str, int]:
    query = sa.select(Message.status, sa.func.count()).group_by(Message.status)
    if campaign_id:
        query = query.where(Message.campaign_id == campaign_id)
    return dict(db.session.execute(query).all())


def settled() -> bool:
    counts = status_counts()
    return bool(counts) and not counts.get("queued") and not counts.get("sending")


class Workers:
    """Starts and kills worker processes; every one is gone when the test ends."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, count: int = 1, **extra_env: str) -> list[subprocess.Popen[bytes]]:
        started = []
        for _ in range(count):
            log = open(self.logs / f"worker-{len(self.processes)}.log", "wb")  # noqa: SIM115
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "worker"],
                cwd=ROOT,
                env={**self.env, **extra_env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.processes.append(process)
            started.append(process)
        return started

    def kill(self, process: subprocess.Popen[bytes]) -> None:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def kill_all(self) -> None:
        for process in self.processes:
            self.kill(process)

    def tail(self) -> str:
        return "\n".join(
            f"--- {path.name}\n" + path.read_text(errors="replace")[-3000:]
            for path in sorted(self.logs.glob("*.log"))
        )


@pytest.fixture
def workers(
    app: Any, database_url: str, redis_server: RedisServer, tmp_path: Path
) -> Iterator[Workers]:
    from redis import Redis

    Redis.from_url(redis_server.url).flushall()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CAMPAIGNS_", "PYTEST_"))
    }
    env.update(
        DATABASE_URL=database_url,
        REDIS_URL=redis_server.url,
        SECRET_KEY=app.config["SECRET_KEY"],
        PUBLIC_BASE_URL=app.config["PUBLIC_BASE_URL"],
        MAIL_BACKEND="smtp",
        DISPATCH_INTERVAL_SECONDS="0.2",
        SEND_LEASE_SECONDS="2",
        SEND_JITTER="0",
        PYTHONUNBUFFERED="1",
    )
    pool = Workers(env, tmp_path)
    yield pool
    pool.kill_all()
