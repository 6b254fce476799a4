"""Where background jobs go: RQ on Redis in production, a thread pool without Redis.

Redis only wakes workers. Nothing depends on a job surviving in it: PostgreSQL
holds every claim, and the dispatcher re-queues claims whose job was lost.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from typing import Any, Protocol

from flask import Flask

from webapp.appcontext import current_app_object

SEND_QUEUE = "sending"
DEFAULT_QUEUE = "default"
JOB_TIMEOUT_SECONDS = 180
# A lead import of the largest upload (64 MiB, about a million rows) takes minutes.
IMPORT_TIMEOUT_SECONDS = 3600


class JobQueue(Protocol):
    def enqueue(
        self, job: str, *args: Any, queue: str = DEFAULT_QUEUE, timeout: int = JOB_TIMEOUT_SECONDS
    ) -> None: ...


class RedisJobQueue:
    """RQ queues on the configured Redis; jobs are named by their import path."""

    def __init__(self, redis_url: str) -> None:
        from redis import Redis

        self.connection = Redis.from_url(redis_url)

    def enqueue(
        self, job: str, *args: Any, queue: str = DEFAULT_QUEUE, timeout: int = JOB_TIMEOUT_SECONDS
    ) -> None:
        from rq import Queue

        Queue(queue, connection=self.connection).enqueue_call(
            f"webapp.jobs.{job}",
            args=args,
            timeout=timeout,
            result_ttl=0,
            failure_ttl=7 * 24 * 3600,
        )


class InlineJobQueue:
    """The embedded default: jobs run on a small thread pool inside this process."""

    def __init__(self, app: Flask, workers: int = 2) -> None:
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")

    def enqueue(
        self, job: str, *args: Any, queue: str = DEFAULT_QUEUE, timeout: int = JOB_TIMEOUT_SECONDS
    ) -> None:
        # By name, as RQ does: the job functions sit above the services that enqueue them.
        function: Callable[..., Any] = getattr(import_module("webapp.jobs"), job)
        self.pool.submit(self._run, function, args)

    def _run(self, function: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            with self.app.app_context():
                function(*args)
        except Exception:  # a job's failure is logged, it must not kill the pool
            self.app.logger.exception("job %s failed", function.__name__)


def get_queue() -> JobQueue:
    """The app's job queue, made on first use."""
    app = current_app_object()
    queue: JobQueue | None = app.extensions.get("job_queue")
    if queue is None:
        redis_url = app.config.get("REDIS_URL")
        queue = RedisJobQueue(redis_url) if redis_url else InlineJobQueue(app)
        app.extensions["job_queue"] = queue
    return queue
