"""A real IMAP server for the inbox tests, a folder per test, and fixture mails filled in.

Test modules import the fixtures they use by name (`dovecot`, `mailbox`).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.utils import make_msgid
from pathlib import Path

import pytest

from tests.sending_support import make_domain, make_running_campaign
from tests.support.dovecot import DovecotServer, start_dovecot
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import Campaign, Lead, Message, SendingDomain
from webapp.services.inbox.match import sent_subject
from webapp.services.tracking import tokens

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "inbox"
SENDING_DOMAIN = "punthelder-seo.nl"


@pytest.fixture(scope="module")
def dovecot() -> Iterator[DovecotServer]:
    # Not pytest's tmp_path: its parents are private to root, and Dovecot's auth process
    # (the dovecot user) must reach the passwd file.
    base = Path(tempfile.mkdtemp(prefix="campaigns-dovecot-"))
    server = start_dovecot(base)
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@dataclass
class Mailbox:
    """One folder of the test IMAP server, and the sending domain that reads it."""

    server: DovecotServer
    folder: str
    domain: SendingDomain

    def append(self, fixture: str, message: Message, **values: str) -> None:
        """APPEND a fixture mail with its placeholders filled in for `message` (unread)."""
        raw = fill(fixture, message, self.domain, **values)
        connection = self.server.connect()
        try:
            status, data = connection.append(self.folder, None, None, raw)
            assert status == "OK", data
        finally:
            connection.logout()

    def flags(self) -> list[set[str]]:
        """The flags of every mail in the folder, in order (read without changing them)."""
        connection = self.server.connect()
        try:
            connection.select(self.folder, readonly=True)
            status, data = connection.uid("FETCH", "1:*", "(FLAGS)")
            assert status == "OK", data
            found = [re.search(rb"FLAGS \(([^)]*)\)", item) for item in data if item]
            return [set(m.group(1).decode().split()) for m in found if m]
        finally:
            connection.logout()


def fill(fixture: str, message: Message, domain: SendingDomain, **values: str) -> bytes:
    """The fixture's bytes (CRLF) with {{PLACEHOLDERS}} for this message filled in."""
    lead = db.session.get(Lead, message.lead_id)
    assert lead is not None
    subject = sent_subject(message, domain)
    filled = {
        "MESSAGE_ID": message.smtp_message_id or "",
        "CAMPAIGN_MESSAGE_ID": message.x_campaign_message_id or message.id,
        "LEAD_EMAIL": lead.email,
        "FROM_EMAIL": message.from_email or f"christian@{domain.name}",
        "SUBJECT": subject,
        "SUBJECT_UPPER": "  ".join(subject.upper().split(" ", 1)),
        "DOMAIN": domain.name,
        "UNSUBSCRIBE_TOKEN": tokens.unsubscribe_token(message.id),
    }
    filled.update(values)
    text = (FIXTURES / fixture).read_text()
    for name, value in filled.items():
        text = text.replace("{{" + name + "}}", value)
    assert "{{" not in text, f"unfilled placeholder in {fixture}"
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode()


def make_mailbox(server: DovecotServer, port: int, tls: bool) -> Mailbox:
    """A new empty folder, and the sending domain set up to read it on `port`."""
    folder = f"test-{os.urandom(4).hex()}"
    connection = server.connect()
    try:
        status, data = connection.create(folder)
        assert status == "OK", data
    finally:
        connection.logout()
    domain = make_domain(
        SENDING_DOMAIN,
        2525,
        imap_host=server.host,
        imap_port=port,
        imap_user=server.user,
        imap_password=server.password,
        imap_tls=tls,
        imap_folder=folder,
    )
    db.session.commit()
    return Mailbox(server, folder, domain)


@pytest.fixture
def mailbox(app: object, dovecot: DovecotServer) -> Mailbox:
    """A new empty folder, and the sending domain set up to read it (no TLS)."""
    return make_mailbox(dovecot, dovecot.port, tls=False)


def sent_campaign(
    domain: SendingDomain, leads: int = 1, steps: int = 2, **overrides: object
) -> tuple[Campaign, list[Lead], list[Message]]:
    """A running campaign whose first mails went out an hour ago; the follow-ups are queued."""
    campaign, created, messages = make_running_campaign([domain], leads, steps, **overrides)
    sent_at = utcnow() - timedelta(hours=1)
    for message in messages:
        if message.mail_number == 1:
            mark_sent(message, domain, sent_at)
        else:
            message.scheduled_at = utcnow() + timedelta(days=3)
    db.session.commit()
    return campaign, created, messages


def mark_sent(message: Message, domain: SendingDomain, sent_at: object = None) -> None:
    message.status = "sent"
    message.sent_at = sent_at or utcnow() - timedelta(hours=1)  # type: ignore[assignment]
    message.smtp_message_id = make_msgid(domain=domain.name)
    message.x_campaign_message_id = message.id
