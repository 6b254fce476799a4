"""Connection tests of a sending domain against real servers: aiosmtpd for SMTP, Dovecot for
IMAP, each with a certificate from a test CA. A passing test lists every step; a failing
one stops at the step that failed and says why in plain words, never with the password."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.sending_support import make_domain
from tests.services.inbox_fixtures import make_mailbox
from tests.support.dovecot import DovecotServer, start_dovecot
from tests.support.services import SmtpCapture, free_port
from tests.support.tls import Certificates, make_certificates
from webapp.extensions import db
from webapp.models import SendingDomain
from webapp.services.inbox import check_imap_connection
from webapp.services.sending import ConnectionReport, check_smtp_connection

LOGIN = ("mailer@punthelder.nl", "correct horse battery staple")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trusted(certificates: Certificates, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test CA is the trust store (as an operator's own CA bundle would be)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca))


@pytest.fixture
def untrusted(monkeypatch: pytest.MonkeyPatch) -> None:
    """The system's trust store, which does not know the test CA."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)


def _smtp(certificates: Certificates, tls: str) -> Iterator[SmtpCapture]:
    server = SmtpCapture(tls=tls, certificates=certificates, login=LOGIN)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def starttls_server(certificates: Certificates) -> Iterator[SmtpCapture]:
    yield from _smtp(certificates, "starttls")


@pytest.fixture
def ssl_server(certificates: Certificates) -> Iterator[SmtpCapture]:
    yield from _smtp(certificates, "ssl")


@pytest.fixture(scope="module")
def tls_dovecot(certificates: Certificates) -> Iterator[DovecotServer]:
    # Not pytest's tmp_path: Dovecot's auth process (the dovecot user) must reach the folder.
    base = Path(tempfile.mkdtemp(prefix="campaigns-dovecot-check-"))
    server = start_dovecot(base, certificates=certificates)
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


def smtp_domain(server: SmtpCapture, tls: str, password: str = LOGIN[1]) -> SendingDomain:
    domain = make_domain(
        "punthelder-seo.nl",
        server.port,
        smtp_host=server.host,
        smtp_tls=tls,
        smtp_user=LOGIN[0],
        smtp_password=password,
    )
    db.session.commit()
    return domain


def steps(report: ConnectionReport) -> list[tuple[str, bool]]:
    return [(step.step, step.ok) for step in report.steps]


def failure(report: ConnectionReport) -> str:
    (failed,) = [step for step in report.steps if not step.ok]
    return failed.detail


def assert_no_secret(report: ConnectionReport, secret: str) -> None:
    assert secret not in repr(report.to_dict())


# -- SMTP -------------------------------------------------------------------------------


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_smtp_check_connects_encrypts_and_logs_in_and_sends_nothing(
    app: Flask,
    trusted: None,
    tls: str,
    starttls_server: SmtpCapture,
    ssl_server: SmtpCapture,
) -> None:
    server = starttls_server if tls == "starttls" else ssl_server
    report = check_smtp_connection(smtp_domain(server, tls))
    assert report.ok, report.steps
    assert steps(report) == [("connect", True), ("tls", True), ("login", True)]
    assert f"{server.host}:{server.port}" in report.steps[0].detail
    assert "TLS" in report.steps[1].detail
    assert server.logins == [LOGIN[0]]
    assert server.messages == []
    assert report.to_dict()["ok"] is True
    assert_no_secret(report, LOGIN[1])


def test_smtp_check_says_the_connection_was_refused(app: Flask) -> None:
    port = free_port()  # nothing listens there
    domain = make_domain("punthelder-seo.nl", port, smtp_host="127.0.0.1")
    report = check_smtp_connection(domain)
    assert not report.ok
    assert steps(report) == [("connect", False)]
    assert failure(report) == f"Could not connect to 127.0.0.1:{port}: connection refused"


def test_smtp_check_gives_up_on_a_server_that_never_answers(app: Flask) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts the connection, never sends a greeting
        port = silent.getsockname()[1]
        domain = make_domain("punthelder-seo.nl", port, smtp_host="127.0.0.1")
        report = check_smtp_connection(domain, timeout=0.5)
    assert steps(report) == [("connect", False)]
    assert failure(report) == (
        f"Could not connect to 127.0.0.1:{port}: no answer within 0.5 seconds: check host and"
        " port, and that a firewall lets the port through"
    )
    assert "closed" not in failure(report)


def test_smtp_check_says_plainly_when_the_port_speaks_no_tls(
    app: Flask, trusted: None, certificates: Certificates
) -> None:
    with contextlib.contextmanager(_smtp)(certificates, "none") as plain:
        report = check_smtp_connection(smtp_domain(plain, "ssl"))
    assert steps(report) == [("connect", True), ("tls", False)]
    assert failure(report).startswith("TLS failed: the server does not speak TLS on this port")
    assert "STARTTLS (usually port 587) or SSL/TLS on port 465" in failure(report)
    assert "WRONG_VERSION_NUMBER" not in failure(report)


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
def test_smtp_check_refuses_a_certificate_nobody_vouches_for(
    app: Flask,
    untrusted: None,
    tls: str,
    starttls_server: SmtpCapture,
    ssl_server: SmtpCapture,
) -> None:
    server = starttls_server if tls == "starttls" else ssl_server
    report = check_smtp_connection(smtp_domain(server, tls))
    assert steps(report) == [("connect", True), ("tls", False)]
    assert failure(report).startswith("TLS failed: certificate not accepted (")
    assert "certificate" in failure(report)
    assert server.logins == []


def test_smtp_check_says_when_the_server_offers_no_starttls(app: Flask, trusted: None) -> None:
    plain = SmtpCapture()
    plain.start()
    try:
        report = check_smtp_connection(smtp_domain(plain, "starttls"))
    finally:
        plain.stop()
    assert steps(report) == [("connect", True), ("tls", False)]
    assert failure(report) == "TLS failed: the server does not offer STARTTLS"


def test_smtp_check_reports_the_refused_login_without_the_password(
    app: Flask, trusted: None, starttls_server: SmtpCapture
) -> None:
    wrong = "not-the-password-4711"
    report = check_smtp_connection(smtp_domain(starttls_server, "starttls", password=wrong))
    assert steps(report) == [("connect", True), ("tls", True), ("login", False)]
    assert failure(report).startswith("Login refused: 535 ")
    assert starttls_server.logins == []
    assert_no_secret(report, wrong)


def test_smtp_check_without_a_host_says_so(app: Flask) -> None:
    domain = make_domain("punthelder-seo.nl", 587, smtp_host=None)
    report = check_smtp_connection(domain)
    assert steps(report) == [("connect", False)]
    assert failure(report) == "No SMTP host is set for this domain."


# -- IMAP -------------------------------------------------------------------------------


def imap_domain(server: DovecotServer, port: int, tls: bool, **overrides: Any) -> SendingDomain:
    mailbox = make_mailbox(server, port, tls=tls)
    for name, value in overrides.items():
        setattr(mailbox.domain, name, value)
    db.session.commit()
    return mailbox.domain


@pytest.mark.parametrize("tls", [True, False])
def test_imap_check_logs_in_and_opens_the_folder(
    app: Flask, trusted: None, tls_dovecot: DovecotServer, tls: bool
) -> None:
    assert tls_dovecot.tls_port is not None
    port = tls_dovecot.tls_port if tls else tls_dovecot.port
    domain = imap_domain(tls_dovecot, port, tls=tls)
    report = check_imap_connection(domain)
    assert report.ok, report.steps
    assert steps(report) == [("connect", True), ("tls", True), ("login", True), ("folder", True)]
    assert ("Encrypted" in report.steps[1].detail) is tls
    assert report.steps[3].detail == f"Opened the folder {domain.imap_folder} (0 mails)."
    assert report.to_dict() == {
        "ok": True,
        "steps": [{"step": step.step, "ok": True, "detail": step.detail} for step in report.steps],
    }
    assert_no_secret(report, tls_dovecot.password)


def test_imap_check_says_the_connection_was_refused(app: Flask) -> None:
    port = free_port()
    domain = make_domain(
        "punthelder-seo.nl", 2525, imap_host="127.0.0.1", imap_port=port, imap_user="inbox"
    )
    report = check_imap_connection(domain)
    assert steps(report) == [("connect", False)]
    assert failure(report) == f"Could not connect to 127.0.0.1:{port}: connection refused"


def test_imap_check_refuses_a_certificate_nobody_vouches_for(
    app: Flask, untrusted: None, tls_dovecot: DovecotServer
) -> None:
    assert tls_dovecot.tls_port is not None
    report = check_imap_connection(imap_domain(tls_dovecot, tls_dovecot.tls_port, tls=True))
    assert steps(report) == [("connect", True), ("tls", False)]
    assert failure(report).startswith("TLS failed: certificate not accepted (")


def test_imap_check_says_plainly_when_the_port_speaks_no_tls(
    app: Flask, trusted: None, tls_dovecot: DovecotServer
) -> None:
    report = check_imap_connection(imap_domain(tls_dovecot, tls_dovecot.port, tls=True))
    assert steps(report) == [("connect", True), ("tls", False)]
    assert failure(report).startswith("TLS failed: the server does not speak TLS on this port")
    assert "STARTTLS (usually port 143) or SSL/TLS on port 993" in failure(report)


def test_imap_check_gives_up_on_a_server_that_never_answers(app: Flask) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)  # accepts the connection, never sends a greeting
        port = silent.getsockname()[1]
        domain = make_domain(
            "punthelder-seo.nl", 2525, imap_host="127.0.0.1", imap_port=port, imap_user="inbox"
        )
        report = check_imap_connection(domain, timeout=0.5)
    assert steps(report) == [("connect", False)]
    assert "no answer within 0.5 seconds: check host and port" in failure(report)


def test_imap_check_reports_the_refused_login_without_the_password(
    app: Flask, tls_dovecot: DovecotServer
) -> None:
    wrong = "not-the-password-4711"
    domain = imap_domain(tls_dovecot, tls_dovecot.port, tls=False, imap_password=wrong)
    report = check_imap_connection(domain)
    assert steps(report) == [("connect", True), ("tls", True), ("login", False)]
    assert failure(report).startswith("Login refused: ")
    assert "AUTHENTICATIONFAILED" in failure(report)
    assert_no_secret(report, wrong)


def test_imap_check_names_a_folder_that_does_not_exist(
    app: Flask, tls_dovecot: DovecotServer
) -> None:
    domain = imap_domain(tls_dovecot, tls_dovecot.port, tls=False, imap_folder="Nowhere")
    report = check_imap_connection(domain)
    assert steps(report) == [("connect", True), ("tls", True), ("login", True), ("folder", False)]
    assert failure(report).startswith("Could not open the folder Nowhere: ")
