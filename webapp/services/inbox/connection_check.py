"""Trying a domain's mailbox settings: connect, TLS, login, open the folder.

The poller's own phases (`open_imap`, `start_tls_imap`, `open_folder`), run one at a time
so the answer says which failed and why. The folder is opened read-only: nothing in the
mailbox changes, and the poller's bookmark is left alone.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from contextlib import suppress

from flask_babel import gettext as _

from webapp.formats import thousands
from webapp.models import SendingDomain
from webapp.services.inbox.poller import imap_tls_mode, open_folder, open_imap, start_tls_imap
from webapp.services.sending import (
    CHECK_TIMEOUT_SECONDS,
    CONNECT,
    FOLDER,
    LOGIN,
    TLS,
    ConnectionReport,
    connection_problem,
    decoded,
    timed_out,
    tls_problem,
)

log = logging.getLogger("webapp.inbox")

# The usual IMAP ports with STARTTLS and with implicit TLS, for the fix a TLS failure names.
IMAP_PORTS = (143, 993)


def check_imap_connection(
    domain: SendingDomain, timeout: float = CHECK_TIMEOUT_SECONDS
) -> ConnectionReport:
    """Connect to the domain's mailbox, start TLS as set, log in, open the folder."""
    report = ConnectionReport(secrets=(domain.imap_password or "",))
    report = _check_imap(domain, report, timeout)
    failed = [step for step in report.steps if not step.ok]
    log.info(
        "IMAP check of %s: %s", domain.name, f"{failed[0].step} failed" if failed else "passed"
    )
    return report


def _imap_error(error: BaseException) -> str:
    """The server's words from an imaplib error (it carries them as bytes)."""
    reason = error.args[0] if error.args else ""
    return decoded(reason) if isinstance(reason, bytes | str) else str(reason)


def _check_imap(
    domain: SendingDomain, report: ConnectionReport, timeout: float
) -> ConnectionReport:
    host, port, tls = domain.imap_host, int(domain.imap_port), imap_tls_mode(domain)
    address = f"{host}:{port}"
    if not host:
        return report.failed(CONNECT, _("No IMAP host is set for this domain."))
    try:
        connection = open_imap(host, port, tls, timeout)
    except ssl.SSLError as error:
        report.passed(CONNECT, _("Connected to %(address)s.", address=address))
        return report.failed(TLS, tls_problem(error, IMAP_PORTS))
    except (OSError, imaplib.IMAP4.error) as error:
        reason = (
            _imap_error(error)
            if isinstance(error, imaplib.IMAP4.error) and not timed_out(error)
            else connection_problem(error, timeout)
        )
        return report.failed(
            CONNECT,
            _("Could not connect to %(address)s: %(reason)s", address=address, reason=reason),
        )
    try:
        report.passed(CONNECT, _("Connected to %(address)s.", address=address))
        if tls == "none":
            report.passed(TLS, _("Not used: the mailbox is set to be read without encryption."))
        else:
            if tls == "starttls":
                try:
                    start_tls_imap(connection)
                except imaplib.IMAP4.error as error:
                    text = _imap_error(error)
                    if "not supported" in text.lower():
                        text = _("the server does not offer STARTTLS")
                    return report.failed(TLS, _("TLS failed: %(reason)s", reason=text))
                except OSError as error:
                    return report.failed(TLS, tls_problem(error, IMAP_PORTS))
            version = _tls_version(connection)
            report.passed(TLS, _("Encrypted (%(version)s), certificate accepted.", version=version))
        return _login_and_folder(connection, domain, report)
    finally:
        with suppress(OSError, imaplib.IMAP4.error):
            connection.logout()


def _tls_version(connection: imaplib.IMAP4) -> str:
    sock = connection.sock
    return (sock.version() if isinstance(sock, ssl.SSLSocket) else None) or "TLS"


def _login_and_folder(
    connection: imaplib.IMAP4, domain: SendingDomain, report: ConnectionReport
) -> ConnectionReport:
    if not domain.imap_user:
        return report.failed(LOGIN, _("Login not tried: no IMAP user is set."))
    try:
        connection.login(domain.imap_user, domain.imap_password or "")
    except imaplib.IMAP4.error as error:
        return report.failed(LOGIN, _("Login refused: %(answer)s", answer=_imap_error(error)))
    except OSError as error:
        return report.failed(LOGIN, _("Login failed: %(reason)s", reason=str(error)))
    report.passed(LOGIN, _("Logged in as %(user)s.", user=domain.imap_user))
    folder = domain.imap_folder or "INBOX"
    try:
        status, data = open_folder(connection, folder)
    except (OSError, imaplib.IMAP4.error) as error:
        status, data = "NO", [str(error).encode()]
    if status != "OK":
        answer = decoded(data[0]) if data and data[0] else status
        return report.failed(
            FOLDER,
            _("Could not open the folder %(folder)s: %(answer)s", folder=folder, answer=answer),
        )
    found = decoded(data[0]) if data and data[0] else "0"
    count = thousands(int(found)) if found.isdigit() else found
    report.passed(
        FOLDER, _("Opened the folder %(folder)s (%(count)s mails).", folder=folder, count=count)
    )
    return report
