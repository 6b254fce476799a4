"""The inbox poller: new mail from each sending domain's mailbox, read without marking it read.

Per domain it remembers the mailbox's UIDVALIDITY and the last UID it handled, so each
pass reads only what arrived since. The mailbox is opened read-only (EXAMINE) and
fetched with BODY.PEEK, so people who share it still see new mail as unread. When
UIDVALIDITY changes the server renumbered the mailbox: the pass starts over from the
first UID, and the inbound Message-ID kept in each event stops a mail counting twice.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import SendingDomain
from webapp.services.inbox.apply import apply_mail
from webapp.services.inbox.classify import classify

log = logging.getLogger("webapp.inbox")

# Mails handled per mailbox per pass; the rest waits for the next pass.
BATCH_SIZE = 200
FETCH_CHUNK = 20
# Enough for any reply or bounce; a huge attachment is cut rather than downloaded.
MAX_FETCH_BYTES = 4_000_000
TIMEOUT_SECONDS = 30

_FETCH_HEAD = re.compile(rb"UID (\d+)")


def poll_inbox_once(now: datetime) -> dict[str, Any]:
    """One pass over every domain with a mailbox; a summary of what each mail turned out to be."""
    summary: dict[str, Any] = {"mailboxes": 0, "mails": 0, "outcomes": {}, "errors": {}}
    outcomes: Counter[str] = Counter()
    bookmarks: dict[str, Bookmark] = {}
    for domain in mailbox_domains():
        summary["mailboxes"] += 1
        try:
            poll_domain(domain, now, outcomes, bookmarks)
        except (OSError, imaplib.IMAP4.error, ssl.SSLError) as error:
            # One mailbox being away must not stop the others; it is tried again next pass.
            log.warning("inbox %s: %s", domain.name, error)
            summary["errors"][domain.name] = str(error)[:300]
    # The bookmarks are written last: the domain row is the sender's pace gate, and must
    # not stay locked while another mailbox is being read.
    for domain_id, bookmark in bookmarks.items():
        db.session.execute(
            sa.update(SendingDomain)
            .where(SendingDomain.id == domain_id)
            .values(imap_uidvalidity=bookmark.uidvalidity, imap_last_uid=bookmark.last_uid)
            .execution_options(synchronize_session=False)
        )
    summary["mails"] = sum(outcomes.values())
    summary["outcomes"] = dict(sorted(outcomes.items()))
    return summary


@dataclass
class Bookmark:
    """Where a mailbox was read up to."""

    uidvalidity: int
    last_uid: int


def mailbox_domains() -> list[SendingDomain]:
    """Domains whose mailbox is set up (host and user)."""
    return list(
        db.session.scalars(
            sa.select(SendingDomain)
            .where(SendingDomain.imap_host.is_not(None), SendingDomain.imap_user.is_not(None))
            .order_by(SendingDomain.name)
        )
    )


def poll_domain(
    domain: SendingDomain, now: datetime, outcomes: Counter[str], bookmarks: dict[str, Bookmark]
) -> None:
    """Read the domain's new mail and apply each one; `bookmarks` keeps how far it got."""
    if not _lock_mailbox(domain):
        return
    db.session.refresh(domain)  # another pass may have moved the bookmark meanwhile
    with _mailbox(domain) as connection:
        uidvalidity = _uidvalidity(connection, domain.imap_folder or "INBOX")
        last_uid = domain.imap_last_uid or 0
        if domain.imap_uidvalidity != uidvalidity:
            if domain.imap_uidvalidity is not None:
                log.warning("inbox %s: UIDVALIDITY changed; reading it again", domain.name)
            last_uid = 0
        bookmark = bookmarks[domain.id] = Bookmark(uidvalidity, last_uid)
        uids = _new_uids(connection, last_uid)[:BATCH_SIZE]
        for start in range(0, len(uids), FETCH_CHUNK):
            for uid, received_at, raw in _fetch(connection, uids[start : start + FETCH_CHUNK]):
                outcomes[_apply_one(domain, raw, received_at or now, now, uid)] += 1
                bookmark.last_uid = uid


def _lock_mailbox(domain: SendingDomain) -> bool:
    """One pass per mailbox at a time (worker and CLI alike), until the caller commits.

    An advisory lock rather than a row lock: the sender updates the domain row for its
    pace gate and must never wait for a slow IMAP server.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return True  # the embedded default runs one process
    key = zlib.crc32(f"inbox:{domain.id}".encode())
    return bool(db.session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(key))))


def _apply_one(
    domain: SendingDomain, raw: bytes, received_at: datetime, now: datetime, uid: int
) -> str:
    """Classify and apply one mail inside a savepoint; a mail we cannot read is skipped."""
    try:
        mail = classify(raw)
    except Exception:  # a mail no parser understands will not parse next pass either
        log.exception("inbox %s: uid %d could not be read; skipped", domain.name, uid)
        return "unreadable"
    with db.session.begin_nested():
        return apply_mail(mail, domain, received_at, now)


def imap_tls_mode(domain: SendingDomain) -> str:
    """How the mailbox is reached: "ssl" (TLS from the first byte, as on port 993),
    "starttls" (port 143, upgraded before login) or "none"."""
    if not domain.imap_tls:
        return "none"
    return "starttls" if int(domain.imap_port) == 143 else "ssl"


def connect_imap(host: str, port: int, tls: str, timeout: float = TIMEOUT_SECONDS) -> imaplib.IMAP4:
    """A connection, not yet logged in, with TLS as asked and the certificate verified
    against the default trust store (`SSL_CERT_FILE` names another bundle). A server that
    does not offer STARTTLS is an error, never a login in the clear."""
    connection = open_imap(host, port, tls, timeout)
    if tls == "starttls":
        try:
            start_tls_imap(connection)
        except BaseException:
            with suppress(OSError):
                connection.shutdown()
            raise
    return connection


def open_imap(host: str, port: int, tls: str, timeout: float = TIMEOUT_SECONDS) -> imaplib.IMAP4:
    """A connection past the server's greeting; with implicit TLS ("ssl") already encrypted.

    The connection check calls this and `start_tls_imap` one by one, to say which failed."""
    if tls == "ssl":
        context = ssl.create_default_context()
        return imaplib.IMAP4_SSL(host, port, ssl_context=context, timeout=timeout)
    return imaplib.IMAP4(host, port, timeout=timeout)


def start_tls_imap(connection: imaplib.IMAP4) -> None:
    """Upgrade a plain connection with STARTTLS, verifying the certificate."""
    connection.starttls(ssl.create_default_context())


def open_folder(connection: imaplib.IMAP4, folder: str) -> tuple[str, list[Any]]:
    """EXAMINE the folder (read-only, so nothing is marked read): IMAP's status and data."""
    status, data = connection.select(_quote(folder), readonly=True)
    return status, list(data)


@contextmanager
def _mailbox(domain: SendingDomain) -> Iterator[imaplib.IMAP4]:
    """A logged-in, read-only (EXAMINE) connection to the domain's folder."""
    connection = connect_imap(str(domain.imap_host), int(domain.imap_port), imap_tls_mode(domain))
    try:
        connection.login(str(domain.imap_user), domain.imap_password or "")
        status, data = open_folder(connection, domain.imap_folder or "INBOX")
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open folder {domain.imap_folder}: {data!r}")
        yield connection
    finally:
        with suppress(OSError, imaplib.IMAP4.error):
            connection.logout()


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _uidvalidity(connection: imaplib.IMAP4, folder: str) -> int:
    _name, data = connection.response("UIDVALIDITY")
    if data and data[0]:
        return int(data[0])
    status, answer = connection.status(_quote(folder), "(UIDVALIDITY)")
    found = re.search(rb"UIDVALIDITY (\d+)", answer[0] or b"") if status == "OK" else None
    if found is None:
        raise imaplib.IMAP4.error("the server gave no UIDVALIDITY")
    return int(found.group(1))


def _new_uids(connection: imaplib.IMAP4, last_uid: int) -> list[int]:
    status, data = connection.uid("SEARCH", f"UID {last_uid + 1}:*")
    if status != "OK":
        raise imaplib.IMAP4.error(f"UID SEARCH failed: {data!r}")
    # "n:*" always includes the newest mail, even when its UID is below n.
    return sorted(uid for uid in (int(x) for x in (data[0] or b"").split()) if uid > last_uid)


def _fetch(connection: imaplib.IMAP4, uids: list[int]) -> list[tuple[int, datetime | None, bytes]]:
    """(uid, arrival time, bytes) per mail, oldest first; BODY.PEEK leaves \\Seen alone."""
    if not uids:
        return []
    wanted = ",".join(str(uid) for uid in uids)
    status, data = connection.uid(
        "FETCH", wanted, f"(UID INTERNALDATE BODY.PEEK[]<0.{MAX_FETCH_BYTES}>)"
    )
    if status != "OK":
        raise imaplib.IMAP4.error(f"UID FETCH failed: {data!r}")
    mails = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        head, raw = item
        found = _FETCH_HEAD.search(head)
        if found is None:
            continue
        mails.append((int(found.group(1)), _internal_date(head), raw))
    return sorted(mails, key=lambda mail: mail[0])


def _internal_date(head: bytes) -> datetime | None:
    parsed = imaplib.Internaldate2tuple(head)
    if parsed is None:
        return None
    return datetime.fromtimestamp(time.mktime(parsed), tz=UTC)
