"""Trying a domain's SMTP settings without sending anything: connect, TLS, login.

Each phase is the sender's own (`transport.open_smtp`, `secure_smtp`, the login), run one
at a time so the answer can say which failed and why, in words an admin can act on.
Nothing here ever holds the password in what it returns or logs.
"""

from __future__ import annotations

import logging
import smtplib
import socket
import ssl
from dataclasses import asdict, dataclass, field
from typing import Any

from flask_babel import gettext as _

from webapp.models import SendingDomain, SmtpTls
from webapp.services.sending.transport import SmtpServer, open_smtp, secure_smtp

log = logging.getLogger("webapp.sending")

# A dead host must not hold a request for long.
CHECK_TIMEOUT_SECONDS = 10.0

CONNECT, TLS, LOGIN, FOLDER = "connect", "tls", "login", "folder"


@dataclass(frozen=True)
class CheckStep:
    """One phase of a connection check: `step` is connect, tls, login or folder."""

    step: str
    ok: bool
    detail: str


@dataclass
class ConnectionReport:
    """The phases tried, in order; the first that failed is the last one listed."""

    steps: list[CheckStep] = field(default_factory=list)
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)

    def passed(self, step: str, detail: str) -> None:
        self.steps.append(CheckStep(step, True, self._clean(detail)))

    def failed(self, step: str, detail: str) -> ConnectionReport:
        self.steps.append(CheckStep(step, False, self._clean(detail)))
        return self

    def _clean(self, detail: str) -> str:
        # A server may echo what it was sent; a secret never leaves in an answer.
        for secret in self.secrets:
            if secret:
                detail = detail.replace(secret, "***")
        return detail[:500]

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "steps": [asdict(step) for step in self.steps]}


def timed_out(error: BaseException | None) -> bool:
    """Whether the error, or one it was raised from, is a time-out. smtplib and imaplib
    report a time-out while waiting for the server as the connection being closed."""
    seen = 0
    while error is not None and seen < 5:
        if isinstance(error, TimeoutError | socket.timeout):
            return True
        error, seen = error.__cause__ or error.__context__, seen + 1
    return False


def connection_problem(error: BaseException, timeout: float) -> str:
    """Why a connection could not be made, in plain words."""
    if timed_out(error):
        return str(
            _(
                "no answer within %(seconds)s seconds: check host and port, and that a firewall "
                "lets the port through",
                seconds=f"{timeout:g}",
            )
        )
    if isinstance(error, smtplib.SMTPServerDisconnected | ConnectionResetError):
        return str(_("the server closed the connection"))
    if isinstance(error, socket.gaierror):
        return str(_("the host name is not known"))
    if isinstance(error, ConnectionRefusedError):
        return str(_("connection refused"))
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


# OpenSSL's words for a peer that answered in plain text, or in no TLS it knows.
NO_TLS_REASONS = frozenset(
    {
        "WRONG_VERSION_NUMBER",
        "UNKNOWN_PROTOCOL",
        "UNSUPPORTED_PROTOCOL",
        "WRONG_SSL_VERSION",
        "HTTP_REQUEST",
        "RECORD_LAYER_FAILURE",
        "PACKET_LENGTH_TOO_LONG",
        "TLSV1_ALERT_PROTOCOL_VERSION",
        "NO_PROTOCOLS_AVAILABLE",
    }
)


def tls_problem(error: BaseException, ports: tuple[int, int] = (587, 465)) -> str:
    """Why TLS failed, in plain words ("TLS failed: certificate ..."); `ports` are the
    usual STARTTLS and implicit-TLS ports the fix names (SMTP's unless told)."""
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = error.verify_message or error.reason or str(error)
        return str(_("TLS failed: certificate not accepted (%(reason)s)", reason=reason))
    if isinstance(error, smtplib.SMTPNotSupportedError):
        return str(_("TLS failed: the server does not offer STARTTLS"))
    if isinstance(error, ssl.SSLError) and (error.reason or "") in NO_TLS_REASONS:
        return str(
            _(
                "TLS failed: the server does not speak TLS on this port (or not a version this "
                "application accepts). Choose STARTTLS (usually port %(starttls)s) or SSL/TLS "
                "on port %(implicit)s, as the mail provider says.",
                starttls=ports[0],
                implicit=ports[1],
            )
        )
    if isinstance(error, ssl.SSLError):
        return str(_("TLS failed: %(reason)s", reason=error.reason or str(error)))
    if isinstance(error, smtplib.SMTPResponseException):
        answer = f"{error.smtp_code} {decoded(error.smtp_error)}"
        return str(_("TLS failed: the server answered %(answer)s", answer=answer))
    return str(_("TLS failed: %(reason)s", reason=str(error) or type(error).__name__))


def decoded(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def check_smtp_connection(
    domain: SendingDomain, timeout: float = CHECK_TIMEOUT_SECONDS
) -> ConnectionReport:
    """Connect to the domain's SMTP server, start TLS as set, log in if a user is set."""
    server = SmtpServer.of(domain)
    report = ConnectionReport(secrets=(server.password or "",))
    report = _check_smtp(server, report, timeout)
    failed = [step for step in report.steps if not step.ok]
    log.info(
        "SMTP check of %s: %s",
        domain.name,
        f"{failed[0].step} failed" if failed else "passed",
    )
    return report


def _check_smtp(server: SmtpServer, report: ConnectionReport, timeout: float) -> ConnectionReport:
    address = f"{server.host}:{server.port}"
    if not server.host:
        return report.failed(CONNECT, _("No SMTP host is set for this domain."))
    try:
        client = open_smtp(server, timeout)
    except ssl.SSLError as error:
        # Implicit TLS: the connection was made, the handshake failed.
        report.passed(CONNECT, _("Connected to %(address)s.", address=address))
        return report.failed(TLS, tls_problem(error))
    except smtplib.SMTPResponseException as error:
        return report.failed(
            CONNECT,
            _(
                "Could not connect to %(address)s: the server answered %(answer)s",
                address=address,
                answer=f"{error.smtp_code} {decoded(error.smtp_error)}",
            ),
        )
    except (smtplib.SMTPException, OSError) as error:
        return report.failed(
            CONNECT,
            _(
                "Could not connect to %(address)s: %(reason)s",
                address=address,
                reason=connection_problem(error, timeout),
            ),
        )
    try:
        report.passed(CONNECT, _("Connected to %(address)s.", address=address))
        if server.tls == SmtpTls.NONE:
            report.passed(TLS, _("Not used: the domain is set to send without encryption."))
        else:
            try:
                secure_smtp(client, server)
            except (smtplib.SMTPException, OSError) as error:
                return report.failed(TLS, tls_problem(error))
            version = _tls_version(client)
            report.passed(TLS, _("Encrypted (%(version)s), certificate accepted.", version=version))
        return _check_login(client, server, report)
    finally:
        try:
            client.quit()
        except (smtplib.SMTPException, OSError):
            client.close()


def _tls_version(client: smtplib.SMTP) -> str:
    sock = client.sock
    return (sock.version() if isinstance(sock, ssl.SSLSocket) else None) or "TLS"


def _check_login(
    client: smtplib.SMTP, server: SmtpServer, report: ConnectionReport
) -> ConnectionReport:
    if not server.user:
        report.passed(LOGIN, _("Not used: no user is set, the server is used without a login."))
        return report
    if not server.password:
        return report.failed(LOGIN, _("Login not tried: a user is set but no password is stored."))
    try:
        client.login(server.user, server.password)
    except smtplib.SMTPAuthenticationError as error:
        answer = f"{error.smtp_code} {decoded(error.smtp_error)}"
        return report.failed(LOGIN, _("Login refused: %(answer)s", answer=answer))
    except smtplib.SMTPNotSupportedError:
        return report.failed(
            LOGIN, _("Login failed: the server offers no login (AUTH) on this connection.")
        )
    except smtplib.SMTPResponseException as error:
        answer = f"{error.smtp_code} {decoded(error.smtp_error)}"
        return report.failed(LOGIN, _("Login refused: %(answer)s", answer=answer))
    except (smtplib.SMTPException, OSError) as error:
        return report.failed(LOGIN, _("Login failed: %(reason)s", reason=str(error)))
    report.passed(LOGIN, _("Logged in as %(user)s.", user=server.user))
    return report
