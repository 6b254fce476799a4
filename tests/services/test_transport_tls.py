"""SMTP over TLS as the sending domains use it: STARTTLS (the default) and implicit TLS,
certificates verified, credentials sent only over TLS, and every refusal before the
envelope a retry, never a bounce."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.services import SmtpCapture
from tests.support.tls import Certificates, make_certificates
from webapp.services.sending.transport import PERMANENT, SENT, TEMPORARY, SmtpServer, deliver_smtp

RAW = b"From: Christian <christian@punthelder.nl>\r\nSubject: Hallo\r\n\r\nHallo Anna\r\n"
SENDER = "christian@punthelder.nl"
RECIPIENT = "anna@bakkerij-jansen.nl"
LOGIN = ("mailer@punthelder.nl", "correct horse battery staple")


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trusted(certificates: Certificates, monkeypatch: pytest.MonkeyPatch) -> Certificates:
    """The test CA is the trust store (as an operator's own CA bundle would be)."""
    monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca))
    return certificates


@pytest.fixture
def untrusted(certificates: Certificates, monkeypatch: pytest.MonkeyPatch) -> Certificates:
    """The system's trust store, which does not know the test CA."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    return certificates


def _server(certificates: Certificates, tls: str, **options: object) -> Iterator[SmtpCapture]:
    server = SmtpCapture(tls=tls, certificates=certificates, **options)  # type: ignore[arg-type]
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def starttls_server(certificates: Certificates) -> Iterator[SmtpCapture]:
    yield from _server(certificates, "starttls", login=LOGIN)


@pytest.fixture
def ssl_server(certificates: Certificates) -> Iterator[SmtpCapture]:
    yield from _server(certificates, "ssl", login=LOGIN)


@pytest.fixture
def plain_server() -> Iterator[SmtpCapture]:
    server = SmtpCapture()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def domain_for(server: SmtpCapture, tls: str, login: tuple[str, str] | None = LOGIN) -> SmtpServer:
    user, password = login or (None, None)
    return SmtpServer("punthelder.nl", server.host, server.port, tls, user, password)


@pytest.fixture(params=["starttls", "ssl"])
def tls_server(
    request: pytest.FixtureRequest, starttls_server: SmtpCapture, ssl_server: SmtpCapture
) -> tuple[str, SmtpCapture]:
    """Each kind of TLS server in turn, with the domain setting that reaches it."""
    return request.param, starttls_server if request.param == "starttls" else ssl_server


def test_mail_goes_out_over_a_verified_tls_connection_after_login(
    trusted: Certificates, tls_server: tuple[str, SmtpCapture]
) -> None:
    tls, server = tls_server
    delivery = deliver_smtp(domain_for(server, tls), RAW, SENDER, RECIPIENT)
    assert delivery.kind == SENT, delivery.detail
    (mail,) = server.wait_for(1)
    assert (mail.mail_from, mail.rcpt_tos) == (SENDER, [RECIPIENT])
    assert mail.message["Subject"] == "Hallo"
    assert server.logins == [LOGIN[0]]


def test_a_certificate_nobody_vouches_for_is_refused_and_the_mail_waits(
    untrusted: Certificates, tls_server: tuple[str, SmtpCapture]
) -> None:
    tls, server = tls_server
    delivery = deliver_smtp(domain_for(server, tls), RAW, SENDER, RECIPIENT)
    assert delivery.kind == TEMPORARY
    assert "CERTIFICATE_VERIFY_FAILED" in delivery.detail
    assert server.messages == [] and server.logins == []


def test_wrong_credentials_are_a_retry_never_a_bounce_of_the_recipient(
    trusted: Certificates, starttls_server: SmtpCapture
) -> None:
    wrong = (LOGIN[0], "wrong")
    delivery = deliver_smtp(domain_for(starttls_server, "starttls", wrong), RAW, SENDER, RECIPIENT)
    assert delivery.kind == TEMPORARY != PERMANENT
    assert delivery.code == 535
    assert starttls_server.messages == []


def test_a_server_without_starttls_gets_nothing_in_the_clear(
    trusted: Certificates, plain_server: SmtpCapture
) -> None:
    delivery = deliver_smtp(domain_for(plain_server, "starttls"), RAW, SENDER, RECIPIENT)
    assert delivery.kind == TEMPORARY
    assert "STARTTLS" in delivery.detail
    assert plain_server.messages == []


def test_a_starttls_server_refuses_mail_sent_without_it(
    trusted: Certificates, starttls_server: SmtpCapture
) -> None:
    """The check on the test server itself: mail arrives only after STARTTLS."""
    delivery = deliver_smtp(domain_for(starttls_server, "none", None), RAW, SENDER, RECIPIENT)
    assert delivery.kind != SENT
    assert starttls_server.messages == []
