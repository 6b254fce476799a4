"""System mail: invitations and password resets (later alerts and digests).

It goes through Flask-Mail on the app's own mail settings (`MAIL_SERVER` and friends), one
server apart from the sending domains. Campaign mail keeps its own phase-aware SMTP path
(services/sending/transport.py): a campaign mail's outcome decides retries and bounces,
while a system mail that cannot be sent is simply an error for whoever asked for it.

Without `MAIL_SERVER` (the embedded default, `make run`) a system mail is written to the
outbox's `system/` folder instead: shown on the Outbox page marked as system mail, never
among the campaign mails there, and never a `messages` row, so no count includes it.

These mails carry sign-in links: nothing here logs a body, and Flask-Mail's debug output
(which would print the whole conversation) stays off whatever MAIL_DEBUG says.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from email.utils import make_msgid, parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from flask import current_app
from flask_mail import Connection, Mail, Message

# The outbox's folder for system mail, beside the campaign mails (`OUTBOX_DIR/system/`).
SYSTEM_OUTBOX_FOLDER = "system"
SMTP_TIMEOUT_SECONDS = 30
SENDER_NAME = "Punthelder Campaigns"

log = logging.getLogger("webapp.system_mail")


@dataclass(frozen=True)
class Delivered:
    """Where a system mail went: `smtp` (the mail server took it) or `outbox` (`name`)."""

    via: str
    name: str | None = None


def mail_configured() -> bool:
    """Whether system mail leaves through a mail server (else it goes to the outbox)."""
    return bool(current_app.config.get("MAIL_SERVER"))


def system_sender() -> str:
    """MAIL_DEFAULT_SENDER, else `noreply@` the host of PUBLIC_BASE_URL."""
    configured = current_app.config.get("MAIL_DEFAULT_SENDER")
    if configured:
        return str(configured)
    host = urlsplit(current_app.config.get("PUBLIC_BASE_URL", "")).hostname or "localhost"
    return f"{SENDER_NAME} <noreply@{host}>"


def send_system_mail(
    to: str, subject: str, text_body: str, html_body: str | None = None
) -> Delivered:
    """Send one system mail (text, and HTML when given) to one address.

    Raises smtplib.SMTPException or OSError when the mail server refuses it or cannot be
    reached; the caller says so to whoever asked.
    """
    sender = system_sender()
    message = Message(
        subject=subject, recipients=[to], body=text_body, html=html_body, sender=sender
    )
    # Flask-Mail's own Message-ID asks DNS for this machine's name on every mail.
    domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
    message.msgId = make_msgid(domain=domain)
    if not mail_configured():
        return _write_to_outbox(message)
    with _VerifiedConnection(_mailer()) as connection:
        connection.send(message)
    log.info("system mail sent through %s: %s", current_app.config["MAIL_SERVER"], subject)
    return Delivered("smtp")


def _mailer() -> Mail:
    """Flask-Mail on the settings in force now (a test or a reload may have changed them)."""
    mailer = Mail()
    mailer.state = mailer.init_mail(current_app.config, debug=False, testing=False)
    mailer.state.debug = 0  # never print the conversation: it holds the links
    return mailer


class _VerifiedConnection(Connection):
    """Flask-Mail's connection with a time limit and verified certificates.

    Its own STARTTLS passes no SSL context, and smtplib then accepts any certificate,
    which would hand MAIL_PASSWORD and the links to whoever sits in between.
    """

    def configure_host(self) -> smtplib.SMTP | smtplib.SMTP_SSL:
        mail = self.mail
        context = ssl.create_default_context()
        server = str(mail.server)
        port = int(mail.port or 25)
        host: smtplib.SMTP | smtplib.SMTP_SSL
        if mail.use_ssl:
            host = smtplib.SMTP_SSL(server, port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
        else:
            host = smtplib.SMTP(server, port, timeout=SMTP_TIMEOUT_SECONDS)
        try:
            if mail.use_tls:
                host.starttls(context=context)
            if mail.username and mail.password:
                host.login(mail.username, mail.password)
        except BaseException:
            host.close()
            raise
        return host


def _write_to_outbox(message: Message) -> Delivered:
    folder = Path(current_app.config["OUTBOX_DIR"]) / SYSTEM_OUTBOX_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    name = uuid.uuid4().hex
    path = folder / f"{name}.eml"
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(message.as_bytes())
    temporary.replace(path)  # atomic: the outbox page never shows half a mail
    if current_app.config.get("MAIL_BACKEND") == "smtp":
        # Campaign mail goes out for real, so someone expects this one to arrive too.
        log.warning("MAIL_SERVER is not set: system mail written to the outbox (%s)", name)
    return Delivered("outbox", name)
