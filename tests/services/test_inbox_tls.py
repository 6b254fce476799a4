"""Mailboxes over TLS, against a real Dovecot with a certificate from a test CA: implicit
TLS for the pass itself, STARTTLS for the connection, certificates verified, and never a
login in the clear to a server that does not offer STARTTLS."""

from __future__ import annotations

import imaplib
import shutil
import ssl
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from tests.services import inbox_fixtures
from tests.services.inbox_fixtures import SENDING_DOMAIN, Mailbox, make_mailbox, sent_campaign
from tests.support.dovecot import DovecotServer, start_dovecot
from tests.support.tls import Certificates, make_certificates
from webapp.database import utcnow
from webapp.extensions import db
from webapp.models import MessageEvent, SendingDomain
from webapp.services.inbox.poller import connect_imap, imap_tls_mode, poll_inbox_once

# A Dovecot without TLS (one per module), for the server that offers no STARTTLS.
dovecot = inbox_fixtures.dovecot


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def tls_dovecot(certificates: Certificates) -> Iterator[DovecotServer]:
    base = Path(tempfile.mkdtemp(prefix="campaigns-dovecot-tls-"))
    server = start_dovecot(base, certificates=certificates)
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def trusted(certificates: Certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca))


@pytest.fixture
def untrusted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)


@pytest.fixture
def tls_mailbox(app: Flask, tls_dovecot: DovecotServer) -> Mailbox:
    """A fresh folder, read by a domain over implicit TLS."""
    assert tls_dovecot.tls_port is not None
    return make_mailbox(tls_dovecot, tls_dovecot.tls_port, tls=True)


def _poll() -> dict[str, object]:
    summary = poll_inbox_once(utcnow())
    db.session.commit()
    db.session.expire_all()
    return summary


def test_a_reply_is_read_over_implicit_tls(trusted: None, tls_mailbox: Mailbox) -> None:
    assert imap_tls_mode(tls_mailbox.domain) == "ssl"
    _, _, messages = sent_campaign(tls_mailbox.domain)
    tls_mailbox.append("reply_gmail.eml", messages[0])
    summary = _poll()
    assert summary["errors"] == {}
    assert summary["outcomes"] == {"replied": 1}
    replied = db.session.scalars(
        sa.select(MessageEvent).where(MessageEvent.event_type == "replied")
    ).all()
    assert [event.message_id for event in replied] == [messages[0].id]


def test_a_mailbox_with_a_certificate_nobody_vouches_for_is_not_read(
    untrusted: None, tls_mailbox: Mailbox
) -> None:
    _, _, messages = sent_campaign(tls_mailbox.domain)
    tls_mailbox.append("reply_gmail.eml", messages[0])
    summary = _poll()
    assert "CERTIFICATE_VERIFY_FAILED" in str(summary["errors"][SENDING_DOMAIN])  # type: ignore[index]
    assert summary["mails"] == 0
    domain = db.session.get(SendingDomain, tls_mailbox.domain.id)
    assert domain is not None and domain.imap_last_uid in (None, 0)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(MessageEvent)) == 0


def test_starttls_upgrades_the_connection_before_the_login(
    trusted: None, tls_dovecot: DovecotServer
) -> None:
    connection = connect_imap(tls_dovecot.host, tls_dovecot.port, "starttls")
    try:
        assert isinstance(connection.sock, ssl.SSLSocket)
        assert connection.login(tls_dovecot.user, tls_dovecot.password)[0] == "OK"
    finally:
        connection.logout()


def test_starttls_refuses_a_certificate_nobody_vouches_for(
    untrusted: None, tls_dovecot: DovecotServer
) -> None:
    with pytest.raises(ssl.SSLCertVerificationError):
        connect_imap(tls_dovecot.host, tls_dovecot.port, "starttls")


def test_a_server_without_starttls_gets_no_login_in_the_clear(
    trusted: None, dovecot: DovecotServer
) -> None:
    with pytest.raises(imaplib.IMAP4.error, match="TLS"):
        connect_imap(dovecot.host, dovecot.port, "starttls")


@pytest.mark.parametrize(
    ("tls", "port", "mode"),
    [(True, 993, "ssl"), (True, 143, "starttls"), (True, 10993, "ssl"), (False, 143, "none")],
)
def test_the_port_decides_between_implicit_tls_and_starttls(
    tls: bool, port: int, mode: str
) -> None:
    domain = SendingDomain(name="punthelder.nl", imap_tls=tls, imap_port=port)
    assert imap_tls_mode(domain) == mode
