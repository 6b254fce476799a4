"""What the team tests share: a fresh outbox, a real mail server for system mail, jobs run
through Redis by a worker in this process, and the links read back out of a mail."""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask

from tests.support.services import RedisServer, SmtpCapture, start_smtp

LINK = re.compile(r"https?://\S+/(?:invite|password/reset)/[A-Za-z0-9_\-.]+")


@pytest.fixture
def outbox(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty outbox for this test; no mail server, so system mail lands here."""
    monkeypatch.setitem(app.config, "OUTBOX_DIR", str(tmp_path))
    monkeypatch.setitem(app.config, "MAIL_SERVER", None)
    return tmp_path


@pytest.fixture
def mail_server(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SmtpCapture]:
    """A real SMTP server (aiosmtpd) set as the app's MAIL_SERVER for system mail."""
    server = start_smtp()
    monkeypatch.setitem(app.config, "MAIL_SERVER", server.host)
    monkeypatch.setitem(app.config, "MAIL_PORT", server.port)
    monkeypatch.setitem(app.config, "MAIL_DEFAULT_SENDER", "Punthelder <systeem@punthelder.nl>")
    monkeypatch.setitem(app.config, "OUTBOX_DIR", str(tmp_path))
    yield server
    server.stop()


@pytest.fixture
def jobs_through_redis(
    app: Flask, redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """Jobs this process enqueues go to a real Redis; `run_jobs()` works them off here."""
    from redis import Redis

    Redis.from_url(redis_server.url).flushall()
    monkeypatch.setitem(app.config, "REDIS_URL", redis_server.url)
    app.extensions.pop("job_queue", None)
    yield
    app.extensions.pop("job_queue", None)


def run_jobs(app: Flask) -> None:
    """Every queued job, to the end, by an RQ worker in this process (no forking)."""
    from redis import Redis
    from rq import Queue, SimpleWorker

    connection = Redis.from_url(app.config["REDIS_URL"])
    worker = SimpleWorker([Queue("default", connection=connection)], connection=connection)
    worker.work(burst=True)


def system_mails(outbox: Path) -> list[Path]:
    return sorted((outbox / "system").glob("*.eml"))


def new_system_mail(outbox: Path, before: list[Path]) -> Path:
    """The one system mail written since `before` was taken (file times can tie)."""
    (path,) = set(system_mails(outbox)) - set(before)
    return path


def parts(mail: EmailMessage) -> tuple[str, str]:
    """The text and HTML parts of a mail."""
    text = mail.get_body(("plain",))
    html = mail.get_body(("html",))
    assert text is not None and html is not None, "a system mail has both parts"
    return str(text.get_content()), str(html.get_content())


def link_in(mail: EmailMessage) -> str:
    """The one sign-in link of a mail, the same in both parts."""
    text, html = parts(mail)
    links = set(LINK.findall(text))
    assert len(links) == 1, links
    link = links.pop()
    assert link in html
    return link


def path_of(link: str) -> str:
    """The link's path, for the test client."""
    return "/" + link.split("/", 3)[3]


def read_eml(path: Path) -> EmailMessage:
    import email
    import email.policy

    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message
