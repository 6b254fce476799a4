"""Where background jobs go: RQ on Redis in production, a thread pool without Redis.

Redis only wakes workers. Nothing depends on a job surviving in it: PostgreSQL
holds every claim, and the dispatcher re-queues claims whose job was lost.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from typing import Any, Protocol

import sqlalchemy as sa
from flask import Flask, has_app_context
from sqlalchemy.orm import Session

from webapp.appcontext import current_app_object
from webapp.extensions import db

log = logging.getLogger("webapp.queue")

SEND_QUEUE = "sending"
DEFAULT_QUEUE = "default"
JOB_TIMEOUT_SECONDS = 180
# A lead import of the largest upload (64 MiB, about a million rows) takes minutes.
IMPORT_TIMEOUT_SECONDS = 3600
# A failed job stays a week for whoever looks into it.
FAILURE_TTL_SECONDS = 7 * 24 * 3600
# Published when mail may fall due sooner than the dispatcher planned to look.
WAKE_CHANNEL = "campaigns:dispatch:wake"


class JobQueue(Protocol):
    def enqueue(
        self, job: str, *args: Any, queue: str = DEFAULT_QUEUE, timeout: int = JOB_TIMEOUT_SECONDS
    ) -> None: ...

    def enqueue_many(
        self,
        job: str,
        args_list: Sequence[Sequence[Any]],
        queue: str = DEFAULT_QUEUE,
        timeout: int = JOB_TIMEOUT_SECONDS,
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
            failure_ttl=FAILURE_TTL_SECONDS,
        )

    def enqueue_many(
        self,
        job: str,
        args_list: Sequence[Sequence[Any]],
        queue: str = DEFAULT_QUEUE,
        timeout: int = JOB_TIMEOUT_SECONDS,
    ) -> None:
        """Many jobs of one kind in one pipelined round trip (a dispatcher pass's sends)."""
        from rq import Queue

        rq_queue = Queue(queue, connection=self.connection)
        rq_queue.enqueue_many(
            [
                Queue.prepare_data(
                    f"webapp.jobs.{job}",
                    args=list(args),
                    timeout=timeout,
                    result_ttl=0,
                    failure_ttl=FAILURE_TTL_SECONDS,
                )
                for args in args_list
            ]
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

    def enqueue_many(
        self,
        job: str,
        args_list: Sequence[Sequence[Any]],
        queue: str = DEFAULT_QUEUE,
        timeout: int = JOB_TIMEOUT_SECONDS,
    ) -> None:
        for args in args_list:
            self.enqueue(job, *args, queue=queue, timeout=timeout)

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


def wake_dispatcher_after_commit() -> None:
    """Ask the dispatcher to look again once this transaction commits: mail was planned
    or re-planned, a campaign resumed, a domain unpaused."""
    db.session.info["wake_dispatcher"] = True


def wake_dispatcher() -> None:
    """Wake the dispatcher now: schedulers in this process directly, others through Redis.

    Only a hint: a dispatcher that misses it still looks within DISPATCH_INTERVAL_SECONDS.
    """
    app = current_app_object()
    for poke in app.extensions.get("dispatch_wakers", ()):
        poke()
    redis_url = app.config.get("REDIS_URL")
    if not redis_url:
        return
    from redis import Redis
    from redis.exceptions import RedisError

    connection = app.extensions.get("wake_redis")
    if connection is None:
        connection = app.extensions["wake_redis"] = Redis.from_url(redis_url)
    try:
        connection.publish(WAKE_CHANNEL, "1")
    except RedisError:
        log.warning("redis unavailable; the dispatcher will find the new mail on its own")


def enqueue_after_commit(job: str, *args: Any, timeout: int = JOB_TIMEOUT_SECONDS) -> None:
    """Enqueue a job once this transaction commits (never if it rolls back), so the job
    always finds what the transaction recorded for it."""
    db.session.info.setdefault("jobs_after_commit", []).append((job, args, timeout))


@sa.event.listens_for(Session, "after_commit")
def _wake_after_commit(session: Session) -> None:
    jobs = session.info.pop("jobs_after_commit", [])
    if not has_app_context():
        return
    for job, args, timeout in jobs:
        try:
            get_queue().enqueue(job, *args, timeout=timeout)
        except Exception:  # Redis is down: the worker's sweep enqueues it again
            log.exception("could not enqueue %s; the sweep will", job)
    if session.info.pop("wake_dispatcher", False):
        wake_dispatcher()


@sa.event.listens_for(Session, "after_rollback")
def _forget_wake(session: Session) -> None:
    session.info.pop("wake_dispatcher", None)
    session.info.pop("jobs_after_commit", None)
