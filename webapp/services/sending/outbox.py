"""The local outbox of the embedded default: mails written as .eml files, read back.

A mail read back is for the Outbox page, so its parts come without live tracking URLs:
looking at a mail in the dashboard must never count as the lead opening or clicking it.

System mail (invitations, password resets) sent without a mail server lands in its own
folder (`system/`), so nothing that reads the campaign mails here ever meets it; an entry
says which of the two it is.
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

from webapp.services import tracking
from webapp.services.system_mail import SYSTEM_OUTBOX_FOLDER

_NAME = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class OutboxEntry:
    name: str
    written_at: datetime
    sender: str
    recipient: str
    subject: str
    system: bool = False


@dataclass
class OutboxMail:
    entry: OutboxEntry
    headers: list[tuple[str, str]]
    text: str
    html: str
    attachments: list[tuple[str, str, int]] = field(default_factory=list)


def _folder(outbox_dir: str, system: bool) -> Path:
    return Path(outbox_dir) / SYSTEM_OUTBOX_FOLDER if system else Path(outbox_dir)


def _path(outbox_dir: str, name: str, system: bool = False) -> Path | None:
    """The file of one mail; None for anything that is not a message id (no path tricks)."""
    if not _NAME.match(name):
        return None
    path = _folder(outbox_dir, system) / f"{name}.eml"
    return path if path.is_file() else None


def _parse(path: Path, headers_only: bool = False) -> EmailMessage:
    with path.open("rb") as handle:
        parser = email.parser.BytesParser(policy=email.policy.default)
        return parser.parse(handle, headersonly=headers_only)


def _entry(path: Path, mail: EmailMessage, system: bool = False) -> OutboxEntry:
    return OutboxEntry(
        name=path.stem,
        written_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
        sender=str(mail.get("From", "")),
        recipient=str(mail.get("To", "")),
        subject=str(mail.get("Subject", "")),
        system=system,
    )


def list_outbox(
    outbox_dir: str, limit: int = 200, include_system: bool = False
) -> list[OutboxEntry]:
    """The newest mails in the outbox, newest first (headers only); with `include_system`
    the system mails among them, each marked as such."""
    found: list[tuple[float, Path, bool]] = []
    for system in (False, True) if include_system else (False,):
        folder = _folder(outbox_dir, system)
        if folder.is_dir():
            found.extend((path.stat().st_mtime, path, system) for path in folder.glob("*.eml"))
    found.sort(key=lambda item: item[0], reverse=True)
    return [
        _entry(path, _parse(path, headers_only=True), system) for _, path, system in found[:limit]
    ]


def read_outbox_mail(outbox_dir: str, name: str, system: bool = False) -> OutboxMail | None:
    """One mail with its headers, both parts and its attachments; None if there is none.

    The parts are as the dashboard shows them: no open pixel, links to their destinations.
    """
    path = _path(outbox_dir, name, system)
    if path is None:
        return None
    mail = _parse(path)
    text_part = mail.get_body(("plain",))
    html_part = mail.get_body(("html",))
    return OutboxMail(
        entry=_entry(path, mail, system),
        headers=[(key, str(value)) for key, value in mail.items()],
        text=tracking.untracked_text(text_part.get_content()) if text_part else "",
        html=tracking.untracked_html(html_part.get_content()) if html_part else "",
        attachments=[
            (
                part.get_filename() or "attachment",
                part.get_content_type(),
                len(part.get_payload(decode=True) or b""),
            )
            for part in mail.iter_attachments()
        ],
    )


def outbox_attachment(outbox_dir: str, name: str, filename: str) -> tuple[bytes, str] | None:
    """The bytes and content type of one attachment of one mail."""
    path = _path(outbox_dir, name)
    if path is None:
        return None
    for part in _parse(path).iter_attachments():
        if part.get_filename() == filename:
            payload = part.get_payload(decode=True)  # bytes, or None for a multipart part
            return payload if isinstance(payload, bytes) else b"", part.get_content_type()
    return None
