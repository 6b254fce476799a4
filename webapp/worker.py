"""The worker process: send jobs from RQ, plus the periodic passes (the dispatcher).

Any number of workers may run on any number of machines. Each runs a scheduler
thread; a short Redis lock lets one of them run each tick, and if two ever do, the
database's claims keep that harmless.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import Flask

from webapp import jobs
from webapp.database import utcnow
from webapp.extensions import db
from webapp.queue import DEFAULT_QUEUE, SEND_QUEUE
from webapp.services.inbox import poll_inbox_once
from webapp.services.sending import complete_finished_campaigns, dispatch_once
from webapp.services.tracking import purge_tracking_details

log = logging.getLogger("webapp.worker")


@dataclass
class Periodic:
    """A pass that runs every `every` seconds in one worker at a time."""

    name: str
    every: float
    run: Callable[[], object]
    next_at: float = field(default=0.0)


def dispatch_pass() -> object:

    result = dispatch_once(utcnow())
    if result.claimed or result.requeued or result.uncertain or result.completed:
        log.info(
            "dispatch: claimed %d, requeued %d, uncertain %d, completed %d",
            len(result.claimed),
            result.requeued,
            result.uncertain,
            len(result.completed),
        )
    return result


def completion_sweep() -> object:
    """Complete running campaigns whose last mails were canceled (unsubscribe, bounce...)."""
    done = complete_finished_campaigns(utcnow())
    db.session.commit()
    return done


def inbox_pass() -> object:
    """Read every sending domain's mailbox: replies, auto-replies, bounces, unsubscribes."""
    summary = poll_inbox_once(utcnow())
    db.session.commit()
    if summary["mails"] or summary["errors"]:
        log.info("inbox: %s", summary)
    return summary


def retention_pass() -> object:
    """Forget user agents and IPs of events older than EVENT_RETENTION_DAYS."""
    from flask import current_app

    purged = purge_tracking_details(utcnow(), current_app.config["EVENT_RETENTION_DAYS"])
    db.session.commit()
    return purged


def periodic_passes(app: Flask) -> list[Periodic]:
    """The scheduler's work: dispatching, completing, reading mailboxes, forgetting."""
    return [
        Periodic("dispatch", app.config["DISPATCH_INTERVAL_SECONDS"], dispatch_pass),
        Periodic("complete", 60, completion_sweep),
        Periodic("inbox", float(app.config["INBOX_POLL_SECONDS"]), inbox_pass),
        Periodic("retention", 24 * 3600, retention_pass),
    ]


class Scheduler:
    """Runs the periodic passes on a thread until stopped."""

    def __init__(self, app: Flask, passes: list[Periodic]) -> None:
        self.app = app
        self.passes = passes
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            now = time.monotonic()
            for periodic in self.passes:
                if now >= periodic.next_at:
                    periodic.next_at = now + periodic.every
                    self.run_once(periodic)
            wait = min(p.next_at for p in self.passes) - time.monotonic()
            self.stopping.wait(max(0.05, wait))

    def run_once(self, periodic: Periodic) -> None:
        if not self._take_tick(periodic):
            return
        with self.app.app_context():
            try:
                periodic.run()
            except Exception:  # the database or Redis may be away; try again next tick
                db.session.rollback()
                log.exception("%s pass failed; retrying next tick", periodic.name)
            finally:
                db.session.remove()

    def _take_tick(self, periodic: Periodic) -> bool:
        """One worker per tick: a Redis lock that expires just before the next tick."""
        redis_url = self.app.config.get("REDIS_URL")
        if not redis_url:
            return True
        from redis import Redis
        from redis.exceptions import RedisError

        try:
            lock_ms = max(1, int(periodic.every * 900))
            connection = Redis.from_url(redis_url)
            return bool(connection.set(f"campaigns:tick:{periodic.name}", "1", nx=True, px=lock_ms))
        except RedisError:
            log.warning("redis unavailable; running %s without the tick lock", periodic.name)
            return True


def run_worker(app: Flask, burst: bool = False) -> None:
    """Block running jobs and the scheduler (RQ on Redis, or the in-process queue)."""
    jobs._app = app
    scheduler = Scheduler(app, periodic_passes(app))
    redis_url = app.config.get("REDIS_URL")
    if not redis_url:
        # The embedded default: the scheduler's dispatches run on the in-process pool.
        scheduler.start()
        try:
            scheduler.thread.join()
        except KeyboardInterrupt:
            scheduler.stop()
        return
    from redis import Redis
    from rq import SimpleWorker

    scheduler.start()
    connection = Redis.from_url(redis_url)
    # SimpleWorker runs jobs in this process: no fork per mail, one warm database pool.
    worker = SimpleWorker([SEND_QUEUE, DEFAULT_QUEUE], connection=connection)
    try:
        while True:
            try:
                worker.work(burst=burst, logging_level="WARNING")
                break
            except Exception:  # Redis went away: wait for it rather than die
                log.exception("worker lost Redis; retrying")
                time.sleep(1)
    finally:
        scheduler.stop()
