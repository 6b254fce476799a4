"""Handing a built mail to the world: SMTP per sending domain, or a local outbox.

SMTP is driven phase by phase with smtplib (not `sendmail`, nor Flask-Mail, which wraps
it), because the phase in which a failure happens decides what the sender may do next:
a refusal before DATA can be retried; a lost connection after the data went out cannot
(the mail may have been delivered), so that outcome is `uncertain`.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from webapp.models import SendingDomain, SmtpTls

SMTP_TIMEOUT_SECONDS = 30


@dataclass(frozen=True)
class Delivery:
    """What happened to one mail: `kind` is sent, temporary, permanent or uncertain."""

    kind: str
    code: int | None = None
    text: str = ""

    @property
    def detail(self) -> str:
        return f"{self.code} {self.text}".strip() if self.code else self.text


SENT = "sent"
TEMPORARY = "temporary"  # 4xx, refused or dropped before DATA: retry at a later slot
PERMANENT = "permanent"  # 5xx for the recipient: a hard bounce
UNCERTAIN = "uncertain"  # the data may have been delivered: never retried automatically


@dataclass(frozen=True)
class SmtpServer:
    """A domain's SMTP settings as plain values. The send job reads them before it commits
    the start of a send, so that delivering needs nothing from the database, which may be
    unreachable by then: a mail whose start is committed should still go out."""

    name: str
    host: str | None
    port: int
    tls: str
    user: str | None
    password: str | None = field(repr=False)

    @classmethod
    def of(cls, domain: SendingDomain) -> SmtpServer:
        return cls(
            name=domain.name,
            host=domain.smtp_host,
            port=int(domain.smtp_port),
            tls=domain.smtp_tls,
            user=domain.smtp_user,
            password=domain.smtp_password,
        )


def deliver_smtp(server: SmtpServer, raw: bytes, sender: str, recipient: str) -> Delivery:
    """Send through the domain's SMTP server, reporting the phase-aware outcome."""
    if not server.host:
        return Delivery(TEMPORARY, None, f"no SMTP host configured for {server.name}")
    try:
        client = _connect(server)
    except smtplib.SMTPResponseException as error:
        # The greeting, EHLO, STARTTLS or AUTH was refused: our server or our credentials,
        # never the recipient's address, so never a bounce.
        return Delivery(TEMPORARY, error.smtp_code, f"connect: {_decode(error.smtp_error)}")
    except (smtplib.SMTPException, OSError) as error:  # TLS certificate errors included
        return Delivery(TEMPORARY, None, f"connect: {type(error).__name__}: {error}")
    phase = "envelope"
    try:
        try:
            code, text = client.mail(sender)
            if code != 250:
                return _refused(code, text, sender_refused=True)
            code, text = client.rcpt(recipient)
            if code not in (250, 251):
                return _refused(code, text)
            phase = "data"
            code, text = client.data(raw)
            if code != 250:
                # The server answered: it did not take the mail.
                return _refused(code, text)
            return Delivery(SENT, code, _decode(text))
        finally:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()
    except smtplib.SMTPResponseException as error:
        # Includes a DATA command answered with something other than 354: the payload
        # was never sent, so this is a plain refusal even in the data phase.
        return _refused(error.smtp_code, error.smtp_error)
    except (smtplib.SMTPException, OSError) as error:
        if phase == "data":
            return Delivery(UNCERTAIN, None, f"connection lost during DATA: {error}")
        return Delivery(TEMPORARY, None, f"{phase}: {type(error).__name__}: {error}")


def _connect(server: SmtpServer) -> smtplib.SMTP:
    """A client past EHLO, STARTTLS and AUTH as the domain asks; closed again on failure."""
    client = open_smtp(server)
    try:
        secure_smtp(client, server)
        if server.user and server.password:
            client.login(server.user, server.password)
    except BaseException:
        client.close()
        raise
    return client


def open_smtp(server: SmtpServer, timeout: float = SMTP_TIMEOUT_SECONDS) -> smtplib.SMTP:
    """A client past the greeting and EHLO; with implicit TLS ("ssl") already encrypted.

    Certificates are verified against the system's trust store (`SSL_CERT_FILE` names
    another bundle). The connection check (`connection_check`) calls the phases one by
    one, so that it can say which of them failed."""
    host = server.host or ""
    if server.tls == SmtpTls.SSL:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, server.port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, server.port, timeout=timeout)
    try:
        client.ehlo(server.name)
    except BaseException:
        client.close()
        raise
    return client


def secure_smtp(client: smtplib.SMTP, server: SmtpServer) -> None:
    """STARTTLS when the domain asks for it (a server without it is an error, never a
    login in the clear); nothing to do for implicit TLS or no encryption."""
    if server.tls == SmtpTls.STARTTLS:
        client.starttls(context=ssl.create_default_context())
        client.ehlo(server.name)


def _refused(code: int, text: bytes | str, sender_refused: bool = False) -> Delivery:
    kind = PERMANENT if 500 <= code < 600 and not sender_refused else TEMPORARY
    if sender_refused and 500 <= code < 600:
        # Our own address was refused: a configuration problem, not the recipient's bounce.
        kind = TEMPORARY
    return Delivery(kind, code, _decode(text))


def _decode(text: bytes | str) -> str:
    return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)


def deliver_outbox(outbox_dir: str, raw: bytes, message_id: str) -> Delivery:
    """Write the mail as an .eml file instead of sending it (the embedded default)."""
    folder = Path(outbox_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{message_id}.eml"
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(raw)
    temporary.replace(path)  # atomic: the outbox page never shows half a mail
    return Delivery(SENT, 250, f"written to {path.name}")
