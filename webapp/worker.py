"""The worker process: send jobs from RQ, plus the periodic passes (the dispatcher).

Any number of workers may run on any number of machines. Each runs a scheduler
thread; a short Redis lock lets one of them run each pass, and if two ever do, the
database's claims keep that harmless.

The dispatcher does not tick on a fixed minute: each pass says when the next mail
may leave (a slot, a pace gate, a window opening), and the scheduler sleeps until
then. Planning new mail wakes it at once (in this process directly, elsewhere
through Redis); DISPATCH_INTERVAL_SECONDS bounds how long it sleeps otherwise.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import Flask
from redis.exceptions import RedisError

from webapp import jobs
from webapp.database import utcnow
from webapp.extensions import db
from webapp.queue import DEFAULT_QUEUE, SEND_QUEUE, WAKE_CHANNEL
from webapp.services.campaigns import declare_auto_winners
from webapp.services.deliverability import daily_checks
from webapp.services.inbox import poll_inbox_once
from webapp.services.planning import settle_stalled_actions
from webapp.services.sending import DispatchResult, complete_finished_campaigns, dispatch_once
from webapp.services.tracking import purge_tracking_details

if TYPE_CHECKING:
    from redis import Redis

log = logging.getLogger("webapp.worker")

# The shortest sleep between two runs of a pass that asks to run again at once.
MIN_WAIT = 0.05
# How long one worker may hold a pass that reports its own next run (the dispatcher):
# if it dies holding it, another takes over after this. A pass that outlives it may
# overlap another, which the database's claims keep harmless.
PASS_LEASE_SECONDS = 10
# After a pass failed (the database away, say), try again this soon.
RETRY_SECONDS = 5.0


@dataclass
class Periodic:
    """A pass that runs every `every` seconds in one worker at a time.

    A pass with `due_in` says when it next has work: `due_in(result)` is how many
    seconds from now (None: nothing known), and it runs then, `every` at the latest.
    """

    name: str
    every: float
    run: Callable[[], object]
    due_in: Callable[[object], float | None] | None = None
    next_at: float = field(default=0.0)
    poked: bool = field(default=False)


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


def next_dispatch_in(result: object) -> float | None:
    """Seconds until the dispatcher's next due mail, pace gate or window opening."""
    assert isinstance(result, DispatchResult)
    if result.next_at is None:
        return None
    return (result.next_at - utcnow()).total_seconds()


def completion_sweep() -> object:
    """Complete running campaigns whose last mails were canceled (unsubscribe, bounce...)."""
    done = complete_finished_campaigns(utcnow())
    db.session.commit()
    return done


def action_sweep() -> object:
    """Free campaigns whose start / resume / stop / re-plan lost its worker; enqueue again
    actions no worker took."""
    failed = settle_stalled_actions(utcnow())
    db.session.commit()
    if failed:
        log.warning("campaign actions: %d stalled, failed and cleared", failed)
    return failed


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


_dns_threads: list[threading.Thread] = []


def dns_pass() -> object:
    """Check the DNS of the domains not checked for a day (and move signing to a pending
    DKIM key whose record is published), on a thread of its own: a domain's lookups may take
    seconds, and the dispatcher shares the scheduler's thread."""
    if any(thread.is_alive() for thread in _dns_threads):
        return False
    from flask import current_app

    app = current_app._get_current_object()  # type: ignore[attr-defined]

    def run() -> None:
        with app.app_context():
            try:
                daily_checks(utcnow())
            except Exception:  # the database or the DNS away; the next pass tries again
                db.session.rollback()
                log.exception("dns checks failed; retrying next pass")
            finally:
                db.session.remove()

    _dns_threads[:] = [threading.Thread(target=run, name="dns-checks", daemon=True)]
    _dns_threads[0].start()
    return True


def winner_pass() -> object:
    """Declare the experiment winners campaigns asked to have declared by themselves."""
    declared = declare_auto_winners(utcnow())
    db.session.commit()
    if declared:
        log.info("experiments: winners declared %s", declared)
    return declared


def periodic_passes(app: Flask) -> list[Periodic]:
    """The scheduler's work: dispatching, completing, reading mailboxes, forgetting."""
    return [
        Periodic(
            "dispatch",
            app.config["DISPATCH_INTERVAL_SECONDS"],
            dispatch_pass,
            due_in=next_dispatch_in,
        ),
        Periodic("complete", 60, completion_sweep),
        Periodic("actions", 30, action_sweep),
        Periodic("inbox", float(app.config["INBOX_POLL_SECONDS"]), inbox_pass),
        Periodic("winners", 300, winner_pass),
        Periodic("retention", 24 * 3600, retention_pass),
        # Hourly, for the domains whose last checks are a day old: a restart never
        # re-checks them all, and a new domain waits at most an hour.
        Periodic("dns", 3600, dns_pass),
    ]


class Scheduler:
    """Runs the periodic passes on a thread until stopped."""

    def __init__(self, app: Flask, passes: list[Periodic]) -> None:
        self.app = app
        self.passes = passes
        self.stopping = threading.Event()
        self.woken = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="scheduler", daemon=True)
        self.redis_url: str | None = app.config.get("REDIS_URL")

    def start(self) -> None:
        # Mail planned in this process wakes this scheduler directly (queue.wake_dispatcher).
        self.app.extensions.setdefault("dispatch_wakers", []).append(self.poke)
        self.thread.start()
        if self.redis_url:
            threading.Thread(target=self._listen, name="dispatch-wake", daemon=True).start()

    def stop(self) -> None:
        self.stopping.set()
        self.woken.set()

    def poke(self) -> None:
        """Run the passes that know their next work (the dispatcher) now."""
        for periodic in self.passes:
            if periodic.due_in is not None:
                periodic.poked = True
        self.woken.set()

    def _loop(self) -> None:
        while not self.stopping.is_set():
            now = time.monotonic()
            for periodic in self.passes:
                if periodic.poked or now >= periodic.next_at:
                    periodic.poked = False
                    periodic.next_at = now + periodic.every
                    self.run_once(periodic)
            wait = min(p.next_at for p in self.passes) - time.monotonic()
            self.woken.wait(max(MIN_WAIT, wait))
            self.woken.clear()

    def run_once(self, periodic: Periodic) -> None:
        if periodic.due_in is not None:
            self._run_leased(periodic)
            return
        if not self._take_tick(periodic):
            return
        self._run(periodic)

    def _run(self, periodic: Periodic) -> object:
        with self.app.app_context():
            try:
                return periodic.run()
            except Exception:  # the database or Redis may be away; try again next tick
                db.session.rollback()
                log.exception("%s pass failed; retrying next tick", periodic.name)
                return None
            finally:
                db.session.remove()

    def _run_leased(self, periodic: Periodic) -> None:
        """Run a self-timing pass under a lock held for the run, and tell the other
        workers when it should run next; a worker that finds it taken sleeps till then."""
        assert periodic.due_in is not None
        lock = f"campaigns:pass:{periodic.name}"
        token = secrets.token_hex(8)
        redis = self._redis()
        lease_ms = int(min(max(periodic.every, 1.0), PASS_LEASE_SECONDS) * 1000)
        try:
            taken = redis is None or redis.set(lock, token, nx=True, px=lease_ms)
        except RedisError:  # Redis away: run it here; the database keeps two passes harmless
            log.warning("redis unavailable; running %s without its lock", periodic.name)
            taken, redis = True, None
        if not taken:
            self._follow(periodic, redis)
            return
        result = self._run(periodic)
        if result is None:  # the pass failed
            wait = min(periodic.every, RETRY_SECONDS)
        else:
            delay = periodic.due_in(result)
            wait = periodic.every if delay is None else min(max(delay, MIN_WAIT), periodic.every)
        periodic.next_at = time.monotonic() + wait
        if redis is not None:
            try:
                redis.set(f"{lock}:next", repr(time.time() + wait), ex=int(periodic.every) + 1)
                if redis.get(lock) == token.encode():
                    redis.delete(lock)
            except RedisError:
                log.warning("redis unavailable; %s lock left to expire", periodic.name)

    def _follow(self, periodic: Periodic, redis: Redis | None) -> None:
        """Another worker runs the pass: wake when it said the next run is due."""
        try:
            raw = redis.get(f"campaigns:pass:{periodic.name}:next") if redis else None
        except RedisError:
            raw = None
        wait = 0.25 if raw is None else float(raw) - time.time()
        periodic.next_at = time.monotonic() + min(max(wait, 0.1), periodic.every)

    def _redis(self) -> Redis | None:
        if not self.redis_url:
            return None
        from redis import Redis

        connection: Redis | None = self.app.extensions.get("scheduler_redis")
        if connection is None:
            connection = self.app.extensions["scheduler_redis"] = Redis.from_url(self.redis_url)
        return connection

    def _listen(self) -> None:
        """Wake on every message on the wake channel (mail planned by another process)."""
        from redis import Redis

        assert self.redis_url is not None
        while not self.stopping.is_set():
            try:
                # redis-py leaves pubsub() unannotated.
                connection = Redis.from_url(self.redis_url)
                pubsub = connection.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
                pubsub.subscribe(WAKE_CHANNEL)
                while not self.stopping.is_set():
                    if pubsub.get_message(timeout=1.0) is not None:
                        self.poke()
            except RedisError:
                log.warning("redis unavailable; dispatch wakes wait for it")
                self.stopping.wait(1.0)

    def _take_tick(self, periodic: Periodic) -> bool:
        """One worker per tick: a Redis lock that expires just before the next tick."""
        redis_url = self.app.config.get("REDIS_URL")
        if not redis_url:
            return True
        from redis import Redis

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
