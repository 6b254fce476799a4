"""Buffered opens and clicks: written in batches, exactly once, through an outage."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.conftest import new_app
from tests.factories import make_campaign, make_lead, make_message
from tests.support.services import free_port
from webapp.extensions import db
from webapp.models import Message, MessageEvent
from webapp.services.tracking import buffer as tracking_buffer
from webapp.services.tracking import events as tracking
from webapp.services.tracking import links as mail_links
from webapp.services.tracking.buffer import flush_tracking_buffer

SENT_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0"
HOME_IP = "203.0.113.45"
# The writer thread waits an hour between rounds: only the test's own flushes write.
NO_TIMER = {"TRACKING_FLUSH_SECONDS": 3600}


def _sent(status: str = "sent") -> Message:
    message = make_message(
        make_campaign(status="running"), make_lead(), status=status, sent_at=SENT_AT
    )
    db.session.commit()
    return message


def _events(message_id: str, event_type: str = "opened") -> list[MessageEvent]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(MessageEvent)
            .where(MessageEvent.message_id == message_id, MessageEvent.event_type == event_type)
            .order_by(MessageEvent.created_at)
        )
    )


def _hit_concurrently(app: Flask, hits: list[tracking.Hit]) -> None:
    """Queue every hit from its own thread, all released at once."""
    start = threading.Barrier(len(hits))

    def hit(one: tracking.Hit) -> None:
        with app.app_context():
            start.wait()
            assert tracking_buffer.enqueue(one)

    threads = [threading.Thread(target=hit, args=(one,)) for one in hits]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_concurrent_hits_are_written_once_each_with_their_own_times(app: Flask) -> None:
    message, bounced = _sent(), _sent(status="bounced")
    # Two minutes apart: each is a new open, not a repeat of the one before.
    times = [SENT_AT + timedelta(hours=1, minutes=2 * n) for n in range(40)]
    times.reverse()  # the earliest hit is not the first one queued
    hits = [tracking.open_hit(message.id, CHROME, HOME_IP, now=at) for at in times]
    hits += [
        tracking.open_hit(bounced.id, CHROME, HOME_IP, now=SENT_AT + timedelta(hours=2)),
        tracking.open_hit("f" * 32, CHROME, HOME_IP, now=SENT_AT + timedelta(hours=2)),
        tracking.click_hit(message.id, "https://example.nl/", "curl/8.5.0", HOME_IP),
    ]
    _hit_concurrently(app, hits)

    flush_tracking_buffer()
    assert flush_tracking_buffer() == 0  # nothing left, nothing written twice

    opens = _events(message.id)
    assert len(opens) == 40
    assert [event.created_at for event in opens] == sorted(times)
    assert {event.id for event in opens} == {hit.id for hit in hits[:40]}
    assert all(event.meta == {"machine": False} for event in opens)
    assert all(event.ip_address == "203.0.113.0/24" for event in opens)
    assert (message.status, message.open_at) == ("opened", min(times))
    (click,) = _events(message.id, "clicked")
    assert click.meta == {
        "machine": True,
        "reason": "automated_client",
        "url": "https://example.nl/",
    }
    # Past `sent` the status stays; the open is still counted. A message that is gone: nothing.
    assert (bounced.status, bounced.open_at) == ("bounced", SENT_AT + timedelta(hours=2))
    assert len(_events(bounced.id)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MessageEvent)) == 42


def test_a_later_batch_keeps_the_first_open_at(app: Flask) -> None:
    message = _sent()
    first = SENT_AT + timedelta(hours=1)
    assert tracking_buffer.enqueue(tracking.open_hit(message.id, CHROME, HOME_IP, now=first))
    flush_tracking_buffer()
    earlier_but_late = SENT_AT + timedelta(minutes=30)  # arrives in a later batch
    tracking_buffer.enqueue(tracking.open_hit(message.id, CHROME, HOME_IP, now=earlier_but_late))
    flush_tracking_buffer()
    assert len(_events(message.id)) == 2
    assert message.open_at == first  # as record_open: the open recorded first sets it


def test_too_soon_after_sending_is_decided_from_sent_at_at_write_time(app: Flask) -> None:
    message = _sent()
    soon = tracking.open_hit(message.id, CHROME, HOME_IP, now=SENT_AT + timedelta(seconds=5))
    later = tracking.open_hit(message.id, CHROME, HOME_IP, now=SENT_AT + timedelta(minutes=5))
    scanner = tracking.open_hit(message.id, "Barracuda", HOME_IP, now=SENT_AT)
    for hit in (soon, later, scanner):
        tracking_buffer.enqueue(hit)
    flush_tracking_buffer()
    metas = {event.id: event.meta for event in _events(message.id)}
    assert metas == {
        soon.id: {"machine": True, "reason": "seconds_after_send"},
        later.id: {"machine": False},
        scanner.id: {"machine": True, "reason": "security_scanner"},
    }


def test_the_batch_and_record_open_write_the_same_rows(app: Flask) -> None:
    buffered, direct = _sent(), _sent()
    at = SENT_AT + timedelta(seconds=30)
    tracking_buffer.enqueue(tracking.open_hit(buffered.id, "A" * 10_000, "17.1.2.3", now=at))
    flush_tracking_buffer()
    tracking.record_open(direct.id, "A" * 10_000, "17.1.2.3", now=at)
    db.session.commit()

    def row(message_id: str) -> tuple[object, ...]:
        (event,) = _events(message_id)
        message = db.session.get(Message, message_id)
        assert message is not None
        return (event.meta, event.user_agent, event.ip_address, event.created_at,
                message.status, message.open_at)  # fmt: skip

    assert row(buffered.id) == row(direct.id)


# -- outages and limits --------------------------------------------------------------------


class Relay:
    """A TCP relay to PostgreSQL that can be switched off: a real outage, for one app only.

    Sockets are only shut down from outside; the thread that owns one closes it, so a
    closed descriptor is never reused under a thread still reading it.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = free_port()
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._sockets: list[socket.socket] = []

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen()
        self._listener = listener
        self._start(self._accept, listener)

    def down(self) -> None:
        """Refuse new connections and cut the open ones."""
        if self._listener is not None:
            self._listener.shutdown(socket.SHUT_RDWR)
            self._listener = None
        for sock in list(self._sockets):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        self._sockets.clear()

    def _start(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        with listener:
            while True:
                try:
                    client, _ = listener.accept()
                except OSError:
                    return
                server = socket.create_connection(self.upstream)
                self._sockets += [client, server]
                self._start(self._serve, client, server)

    def _serve(self, client: socket.socket, server: socket.socket) -> None:
        back = threading.Thread(target=self._pump, args=(server, client), daemon=True)
        back.start()
        self._pump(client, server)
        back.join()
        client.close()
        server.close()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def relayed_app(app: Flask, database_url: str) -> Iterator[tuple[Flask, Relay]]:
    """A second app on the same database, reached through a relay that can go down."""
    url = sa.engine.make_url(database_url)
    relay = Relay((url.host or "127.0.0.1", url.port or 5432))
    relay.up()
    relayed = new_app(
        url.set(host="127.0.0.1", port=relay.port).render_as_string(False), **NO_TIMER
    )
    yield relayed, relay
    relay.down()
    with relayed.app_context():
        db.engine.dispose()


def test_a_hit_during_an_outage_is_written_when_the_database_returns(
    app: Flask, relayed_app: tuple[Flask, Relay], caplog: pytest.LogCaptureFixture
) -> None:
    relayed, relay = relayed_app
    message = _sent()
    message_id = message.id
    with relayed.app_context():  # the relayed app has connected once before the outage
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Message)) == 1
        db.session.remove()
    relay.down()
    at = SENT_AT + timedelta(hours=3)
    with relayed.app_context():
        assert tracking_buffer.enqueue(tracking.open_hit(message_id, CHROME, HOME_IP, now=at))
    with caplog.at_level(logging.WARNING):
        assert flush_tracking_buffer(relayed) == 0
    assert "will retry" in caplog.text
    assert tracking_buffer.buffer_for(relayed).queued() == 1
    assert _events(message.id) == []

    relay.up()
    assert flush_tracking_buffer(relayed) == 1
    (event,) = _events(message.id)
    assert event.created_at == at  # the time of the hit, not of the write
    assert (message.status, message.open_at) == ("opened", at)
    assert tracking_buffer.buffer_for(relayed).queued() == 0


def test_a_full_queue_writes_the_hit_in_its_request(app: Flask, database_url: str) -> None:
    small = new_app(database_url, TRACKING_BUFFER_SIZE=1, **NO_TIMER)
    message = _sent()
    url = mail_links.open_pixel_url(message.id).removeprefix("http://campaigns.test")
    client = small.test_client()
    try:
        assert client.get(url).status_code == 200  # queued
        assert client.get(url).status_code == 200  # the queue is full: written at once
        assert len(_events(message.id)) == 1
        assert message.status == "opened"
        flush_tracking_buffer(small)
        assert len(_events(message.id)) == 2
    finally:
        with small.app_context():
            db.engine.dispose()


def test_without_the_buffer_every_hit_is_written_in_its_request(
    app: Flask, database_url: str
) -> None:
    direct = new_app(database_url, TRACKING_BUFFER=False)
    message = _sent()
    try:
        with direct.app_context():
            assert tracking_buffer.enqueue(tracking.open_hit(message.id, CHROME, HOME_IP)) is False
        url = mail_links.open_pixel_url(message.id).removeprefix("http://campaigns.test")
        assert direct.test_client().get(url).status_code == 200
        assert len(_events(message.id)) == 1
        assert message.status == "opened"
    finally:
        with direct.app_context():
            db.engine.dispose()


@pytest.mark.parametrize(("flush_items", "written_in_the_round"), [(1000, 5), (2, 7)])
def test_a_writer_round_leaves_a_trickle_of_hits_for_its_next_round(
    app: Flask,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    flush_items: int,
    written_in_the_round: int,
) -> None:
    """Hits that arrive while the writer thread writes wait for its next round unless a full
    batch has built up: a steady stream must not become a transaction per few hits."""
    steady = new_app(database_url, TRACKING_FLUSH_ITEMS=1000, OPEN_REPEAT_SECONDS=0, **NO_TIMER)
    message = _sent()
    real_write_hits = tracking.write_hits
    arrived: list[tracking.Hit] = []

    def write_while_two_more_arrive(hits: list[tracking.Hit]) -> int:
        if not arrived:
            arrived.extend(tracking.open_hit(message.id, CHROME, HOME_IP) for _ in range(2))
            for hit in arrived:
                assert tracking_buffer.enqueue(hit)
        return real_write_hits(hits)

    try:
        with steady.app_context():
            for _ in range(5):
                assert tracking_buffer.enqueue(tracking.open_hit(message.id, CHROME, HOME_IP))
            monkeypatch.setattr(tracking, "write_hits", write_while_two_more_arrive)
            buffer = tracking_buffer.buffer_for(steady)
            buffer.batch_items = flush_items  # only now: five queued hits woke no writer
            assert buffer.flush(everything=False) == written_in_the_round
            assert buffer.queued() == 7 - written_in_the_round
            assert buffer.flush() == 7 - written_in_the_round
        assert len(_events(message.id)) == 7
    finally:
        with steady.app_context():
            db.engine.dispose()


def test_an_open_repeated_within_the_window_writes_nothing_but_a_later_one_does(
    app: Flask,
) -> None:
    message = _sent()
    first = SENT_AT + timedelta(hours=1)
    repeats = [first + timedelta(seconds=s) for s in (0, 1, 30, 59)]
    for at in repeats:  # one batch
        assert tracking_buffer.enqueue(tracking.open_hit(message.id, CHROME, HOME_IP, now=at))
    flush_tracking_buffer()
    assert tracking_buffer.enqueue(
        tracking.open_hit(message.id, CHROME, HOME_IP, now=first + timedelta(seconds=50))
    )  # a later batch, still inside the window of the first
    flush_tracking_buffer()
    assert [e.created_at for e in _events(message.id)] == [first]
    assert message.open_at == first

    later = first + timedelta(minutes=5)
    assert tracking_buffer.enqueue(tracking.open_hit(message.id, CHROME, HOME_IP, now=later))
    flush_tracking_buffer()
    assert [e.created_at for e in _events(message.id)] == [first, later]


def test_a_person_opening_right_after_a_scanner_is_still_counted_as_a_person(
    app: Flask,
) -> None:
    """Repeats are of one kind: a scanner's open never hides the person who opens a moment
    later, so `human_opened` stays true."""
    message = _sent()
    at = SENT_AT + timedelta(minutes=10)
    scanner = tracking.open_hit(message.id, "Barracuda", HOME_IP, now=at)
    person = tracking.open_hit(message.id, CHROME, HOME_IP, now=at + timedelta(seconds=9))
    for hit in (scanner, person):
        assert tracking_buffer.enqueue(hit)
        flush_tracking_buffer()
    machine = [e.meta["machine"] for e in _events(message.id)]
    assert machine == [True, False]
    assert message.open_at == scanner.at
