"""Opens and clicks written in batches, so the pixel answers without waiting for the database.

A request puts its classified hit (`tracking.Hit`) on a bounded in-process queue and
answers at once. One daemon thread per process and app, started on first use, writes
what has queued up every `TRACKING_FLUSH_SECONDS` (or as soon as `TRACKING_FLUSH_ITEMS`
are waiting) in one transaction with set-based statements (`tracking.write_hits`).

- A batch that fails is retried with backoff, `TRACKING_FLUSH_ATTEMPTS` times in all, then
  dropped with an error saying how many opens and clicks were lost.
- A full queue (`TRACKING_BUFFER_SIZE`) is never dropped silently: `enqueue` says no and the
  caller writes the hit itself.
- At exit (atexit: a graceful gunicorn stop, SIGTERM or SIGQUIT, ends with it) the queue is
  written. A hard kill (SIGKILL) loses what was queued, at most the last flush interval.
- `TRACKING_BUFFER = False` turns all of this off: every hit is written in its request.
"""

from __future__ import annotations

import atexit
import os
import queue
import threading
import time
from typing import Any

from flask import Flask, current_app

from webapp.appcontext import current_app_object
from webapp.extensions import db
from webapp.models import EventType
from webapp.services.tracking import events as tracking

EXTENSION_KEY = "tracking_buffer"
DEFAULT_SIZE = 100_000
DEFAULT_FLUSH_SECONDS = 0.05
DEFAULT_FLUSH_ITEMS = 500
DEFAULT_ATTEMPTS = 5
MAX_BATCH = 5_000  # rows per transaction, so one statement stays a sane size
MAX_BACKOFF_SECONDS = 30.0

_create_lock = threading.Lock()


class TrackingBuffer:
    """The queue of one process and app, and the thread that writes it."""

    def __init__(self, app: Flask) -> None:
        config = app.config
        self.app = app
        self.pid = os.getpid()
        self.interval = float(config.get("TRACKING_FLUSH_SECONDS", DEFAULT_FLUSH_SECONDS))
        self.batch_items = int(config.get("TRACKING_FLUSH_ITEMS", DEFAULT_FLUSH_ITEMS))
        self.attempts = max(1, int(config.get("TRACKING_FLUSH_ATTEMPTS", DEFAULT_ATTEMPTS)))
        self._queue: queue.Queue[tracking.Hit] = queue.Queue(
            maxsize=int(config.get("TRACKING_BUFFER_SIZE", DEFAULT_SIZE))
        )
        self._write_lock = threading.Lock()  # one batch at a time, the thread's or a caller's
        self._pending: list[tracking.Hit] = []  # a batch that failed, waiting for its retry
        self._failures = 0
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    def put(self, hit: tracking.Hit) -> bool:
        """Queue the hit; False when the queue is full (the caller writes it then)."""
        try:
            self._queue.put_nowait(hit)
        except queue.Full:
            return False
        if self._thread is None:
            self._start()
        if self._queue.qsize() >= self.batch_items:
            self._wake.set()
        return True

    def queued(self) -> int:
        """Hits waiting to be written, a failed batch included."""
        return self._queue.qsize() + len(self._pending)

    def flush(self, everything: bool = True) -> int:
        """Write what is queued, a failed batch first; the number of events written.

        `everything=False` (the writer thread's round) writes what was queued when it
        started and goes on only while full batches wait: under a steady stream of hits it
        must not spin on batches of a few hits, each a transaction of its own.
        Stops at the first failure: the batch is kept for a retry, or dropped (and logged)
        once it has failed `attempts` times.
        """
        written = 0
        with self._write_lock:
            rounds = 0
            while True:
                if not self._pending:
                    if rounds and not everything and self._queue.qsize() < self.batch_items:
                        return written
                    self._pending = self._drain()
                    if not self._pending:
                        return written
                batch = self._pending
                rounds += 1
                try:
                    with self.app.app_context():
                        try:
                            written += tracking.write_hits(batch)
                            db.session.commit()
                        except Exception:
                            _rollback()
                            raise
                except Exception as error:
                    self._failed(batch, error)
                    return written
                self._pending, self._failures = [], 0

    def close(self) -> None:
        """Stop the thread and write what is left, retrying briefly; called at exit."""
        self._stopping.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        for attempt in range(self.attempts + 1):
            self.flush()
            if not self.queued():
                return
            time.sleep(min(0.1 * 2**attempt, 2.0))

    def _drain(self) -> list[tracking.Hit]:
        batch: list[tracking.Hit] = []
        while len(batch) < MAX_BATCH:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _failed(self, batch: list[tracking.Hit], error: Exception) -> None:
        self._failures += 1
        if self._failures < self.attempts:
            self.app.logger.warning(
                "tracking: writing %d hit(s) failed (attempt %d of %d), will retry: %s",
                len(batch),
                self._failures,
                self.attempts,
                error,
            )
            return
        opens = sum(1 for hit in batch if hit.event_type == EventType.OPENED)
        self.app.logger.error(
            "tracking: %d open(s) and %d click(s) not recorded, lost after %d attempts: %s",
            opens,
            len(batch) - opens,
            self._failures,
            error,
        )
        self._pending, self._failures = [], 0

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="tracking-buffer", daemon=True)
            self._thread.start()
            atexit.register(self.close)

    def _run(self) -> None:
        while not self._stopping.is_set():
            wait = self.interval
            if self._failures:
                wait = min(self.interval * 10 * 2**self._failures, MAX_BACKOFF_SECONDS)
            self._wake.wait(wait)
            self._wake.clear()
            if self._stopping.is_set():
                return
            try:
                self.flush(everything=False)
            except Exception:  # never let the writer die; the next round tries again
                self.app.logger.exception("tracking: writing queued hits failed")


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # the database is gone: nothing to roll back
        current_app.logger.debug("tracking: rollback failed", exc_info=True)


def buffer_for(app: Flask) -> TrackingBuffer:
    """The app's buffer in this process, made on first use (a forked worker gets its own)."""
    buffer: TrackingBuffer | None = app.extensions.get(EXTENSION_KEY)
    if buffer is None or buffer.pid != os.getpid():
        with _create_lock:
            buffer = app.extensions.get(EXTENSION_KEY)
            if buffer is None or buffer.pid != os.getpid():
                buffer = TrackingBuffer(app)
                app.extensions[EXTENSION_KEY] = buffer
    return buffer


def enabled() -> bool:
    """Whether hits are buffered (`TRACKING_BUFFER`, on unless turned off)."""
    value: Any = current_app.config.get("TRACKING_BUFFER", True)
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)


def enqueue(hit: tracking.Hit) -> bool:
    """Queue a hit for the writer; False when buffering is off or the queue is full."""
    if not enabled():
        return False
    app = current_app_object()
    return buffer_for(app).put(hit)


def flush_tracking_buffer(app: Flask | None = None) -> int:
    """Write the hits queued in this process now; the number of events written."""
    app = app or current_app_object()
    buffer: TrackingBuffer | None = app.extensions.get(EXTENSION_KEY)
    if buffer is None or buffer.pid != os.getpid():
        return 0
    return buffer.flush()
