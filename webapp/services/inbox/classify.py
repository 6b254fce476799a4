"""What one inbound mail is: a reply, an auto-reply, a bounce, an unsubscribe, or none of ours.

Pure: bytes in, a `Classified` out; no database, no clock, no app. Matching the keys it
extracts to our messages is `inbox_apply`'s job.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from email.utils import getaddresses, parseaddr
from typing import TypedDict

from flufl.bounce import all_failures

from webapp.services.inbox.text import first_lines
from webapp.services.mail import html_to_text

REPLY = "reply"
AUTO_REPLY = "auto_reply"
BOUNCE = "bounce"
UNSUBSCRIBE = "unsubscribe"
UNRELATED = "unrelated"

_MSG_ID = re.compile(r"<[^<>\s]{1,900}>")
# Re: in the languages our leads write in (and a few clients' own spellings).
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|antw|aw|sv|vs|odp|r)\s*(?:\[\d+\])?\s*:\s*)+", re.I)
_AUTO_SUBJECT = re.compile(
    r"out of (?:the )?office|automatisch antwoord|automatisch bericht|automatic reply|"
    r"auto[- ]?reply|autoreply|auto[- ]?response|afwezig|niet aanwezig|abwesen|"
    r"r[ée]ponse automatique|vacation reply|on vacation|met vakantie",
    re.I,
)
_BOUNCE_SUBJECT = re.compile(
    r"mail delivery failed|undeliver|delivery status notification|returned mail|"
    r"delivery failure|failure notice|delivery has failed|could not be delivered|"
    r"niet bezorgd|onbestelbaar|kan niet worden bezorgd|non remis|unzustellbar",
    re.I,
)
_DAEMON_SENDER = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon)@", re.I)
_ENHANCED_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_REPLY = re.compile(r"(?<!\d)([45]\d\d)(?:[ -]|$)", re.M)
_RETURNED_HEADER = re.compile(
    r"^\s*(X-Campaign-Message-ID|Message-ID)\s*:\s*(\S+)\s*$", re.I | re.M
)
_RETURNED_TYPES = ("text/rfc822-headers", "message/rfc822", "message/rfc822-headers")
_TEMPORARY_WORDS = re.compile(r"delayed|will (?:be )?retr|temporar|try again later", re.I)


@dataclass(frozen=True)
class Bounce:
    """A delivery failure: hard for a 5.x.x status, soft for 4.x.x."""

    hard: bool
    status: str
    diagnostic: str
    recipients: tuple[str, ...]
    source: str  # "dsn" (RFC 3464) or "text" (a non-standard report)


@dataclass(frozen=True)
class Classified:
    """One inbound mail, classified, with every key that can tie it to a message we sent."""

    kind: str
    inbound_key: str
    from_address: str
    to_addresses: tuple[str, ...]
    subject: str
    # In-Reply-To first, then References newest first: the best match comes first.
    thread_ids: tuple[str, ...] = ()
    # X-Campaign-Message-ID and Message-ID found in a returned copy of our mail.
    returned_campaign_ids: tuple[str, ...] = ()
    returned_message_ids: tuple[str, ...] = ()
    bounce: Bounce | None = None
    excerpt: str = ""
    reasons: tuple[str, ...] = field(default=())


class _Keys(TypedDict):
    """The fields every kind of Classified has."""

    inbound_key: str
    from_address: str
    to_addresses: tuple[str, ...]
    subject: str
    thread_ids: tuple[str, ...]


def parse_mail(raw: bytes) -> EmailMessage:
    """The mail as an EmailMessage (decoded headers, lenient about defects)."""
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def classify(raw: bytes) -> Classified:
    """Classify one raw mail and extract its matching keys."""
    mail = parse_mail(raw)
    subject = _header(mail, "Subject")
    from_address = parseaddr(_header(mail, "From"))[1].lower()
    to_addresses = tuple(
        address.lower()
        for _name, address in getaddresses([_header(mail, "To"), _header(mail, "Cc")])
        if address
    )
    common: _Keys = {
        "inbound_key": inbound_key(mail, raw),
        "from_address": from_address,
        "to_addresses": to_addresses,
        "subject": subject,
        "thread_ids": _thread_ids(mail),
    }
    if _is_unsubscribe(to_addresses, subject):
        return Classified(kind=UNSUBSCRIBE, **common)
    bounce = read_bounce(mail, from_address, subject)
    if bounce is not None:
        campaign_ids, message_ids = _returned_keys(mail)
        return Classified(
            kind=BOUNCE,
            bounce=bounce,
            returned_campaign_ids=campaign_ids,
            returned_message_ids=message_ids,
            **common,
        )
    excerpt = first_lines(body_text(mail))
    auto = _auto_reply_reasons(mail, subject)
    if auto:
        return Classified(kind=AUTO_REPLY, excerpt=excerpt, reasons=auto, **common)
    if common["thread_ids"] or _REPLY_PREFIX.match(subject):
        return Classified(kind=REPLY, excerpt=excerpt, **common)
    return Classified(kind=UNRELATED, **common)


def inbound_key(mail: Message, raw: bytes) -> str:
    """The mail's own Message-ID, or a digest of its bytes when it has none."""
    found = _MSG_ID.search(_header(mail, "Message-ID"))
    if found:
        return found.group(0)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def strip_reply_prefixes(subject: str) -> str:
    """`Re: Antw: Mail 1` -> `mail 1`: prefixes gone, case and whitespace folded."""
    return " ".join(_REPLY_PREFIX.sub("", subject or "").split()).casefold()


def has_reply_prefix(subject: str) -> bool:
    return bool(_REPLY_PREFIX.match(subject or ""))


def _header(mail: Message, name: str) -> str:
    try:
        value = mail.get(name)
    except (ValueError, IndexError, TypeError):  # a malformed header the policy cannot parse
        value = None
    return " ".join(str(value).split()) if value is not None else ""


def _thread_ids(mail: Message) -> tuple[str, ...]:
    ids = _MSG_ID.findall(_header(mail, "In-Reply-To"))
    ids += list(reversed(_MSG_ID.findall(_header(mail, "References"))))
    return tuple(dict.fromkeys(ids))


def _is_unsubscribe(to_addresses: tuple[str, ...], subject: str) -> bool:
    to_us = any(address.startswith("unsubscribe@") for address in to_addresses)
    return to_us or "unsubscribe-" in subject.lower()


def _auto_reply_reasons(mail: Message, subject: str) -> tuple[str, ...]:
    reasons = []
    auto_submitted = _header(mail, "Auto-Submitted").lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        reasons.append(f"Auto-Submitted: {auto_submitted}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autogenerated"):
        if _header(mail, name):
            reasons.append(name)
    if _header(mail, "Precedence").lower() in ("auto_reply", "auto-reply"):
        reasons.append("Precedence: auto_reply")
    if _AUTO_SUBJECT.search(subject):
        reasons.append("subject")
    return tuple(reasons)


def read_bounce(mail: Message, from_address: str, subject: str) -> Bounce | None:
    """The failure a DSN or a non-standard bounce reports, or None for anything else."""
    dsn = _read_dsn(mail)
    if dsn is not None:
        return dsn if dsn.status else None
    looks_like = bool(_DAEMON_SENDER.match(from_address) or _BOUNCE_SUBJECT.search(subject))
    if not looks_like:
        return None
    temporary, permanent = all_failures(mail)
    text = body_text(mail)
    status, diagnostic = _status_in_text(text)
    if not status and (permanent or temporary):
        status = "5.0.0" if permanent else "4.0.0"
    if not status:
        status = "4.0.0" if _TEMPORARY_WORDS.search(text) else "5.0.0"
    recipients = {_decode(r) for r in permanent | temporary}
    recipients.update(_failed_recipient_headers(mail))
    return Bounce(status.startswith("5"), status, diagnostic, tuple(sorted(recipients)), "text")


def _read_dsn(mail: Message) -> Bounce | None:
    """RFC 3464: the first failed (or delayed) recipient block; an empty status if none failed."""
    blocks = [
        block
        for part in mail.walk()
        if part.get_content_type() == "message/delivery-status" and part.is_multipart()
        for block in part.get_payload()
        if isinstance(block, Message)
    ]
    if not blocks:
        return None
    temporary, permanent = all_failures(mail)
    recipients = {_decode(r) for r in permanent | temporary}
    recipients.update(_failed_recipient_headers(mail))
    for block in blocks:
        action = str(block.get("Action", "")).strip().lower()
        if not action.startswith(("failed", "delayed", "error")):
            continue
        found = _ENHANCED_STATUS.search(str(block.get("Status", "")))
        status = ".".join(found.groups()) if found else ("4.0.0" if "delay" in action else "5.0.0")
        diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
        diagnostic = diagnostic.split(";", 1)[-1].strip() if ";" in diagnostic else diagnostic
        for name in ("Final-Recipient", "Original-Recipient"):
            value = str(block.get(name, ""))
            if value:
                recipients.add(value.split(";", 1)[-1].strip().strip("<>").lower())
        hard = status.startswith("5")
        return Bounce(hard, status, diagnostic[:500], tuple(sorted(recipients)), "dsn")
    return Bounce(False, "", "", (), "dsn")  # delivered / relayed: a success report


def _status_in_text(text: str) -> tuple[str, str]:
    """The status and the line that holds it, from a human-readable bounce."""
    for line in text.splitlines():
        found = _ENHANCED_STATUS.search(line)
        if found:
            return ".".join(found.groups()), " ".join(line.split())[:500]
    for line in text.splitlines():
        found = _SMTP_REPLY.search(line)
        if found:
            return f"{found.group(1)[0]}.0.0", " ".join(line.split())[:500]
    return "", ""


def _failed_recipient_headers(mail: Message) -> set[str]:
    values = [str(value) for value in mail.get_all("X-Failed-Recipients") or []]
    return {address.lower() for _name, address in getaddresses(values) if "@" in address}


def _decode(address: bytes | str) -> str:
    value = address.decode("ascii", "replace") if isinstance(address, bytes) else address
    return value.strip().strip("<>").lower()


def _returned_keys(mail: Message) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """X-Campaign-Message-ID and Message-ID of our mail, as quoted back by the bounce."""
    texts: list[str] = []
    for part in mail.walk():
        content_type = part.get_content_type()
        if content_type in _RETURNED_TYPES:
            texts.append(_part_source(part))
        elif content_type == "text/plain" and part is not mail:
            texts.append(_decoded_text(part))
    if mail.get_content_type() == "text/plain":
        texts.append(_decoded_text(mail))
    campaign_ids: list[str] = []
    message_ids: list[str] = []
    for text in texts:
        for name, value in _RETURNED_HEADER.findall(text):
            if name.lower() == "x-campaign-message-id":
                campaign_ids.append(value.strip("<>"))
            elif _MSG_ID.fullmatch(value):
                message_ids.append(value)
    return tuple(dict.fromkeys(campaign_ids)), tuple(dict.fromkeys(message_ids))


def _part_source(part: Message) -> str:
    """The headers (and more) a returned-copy part holds, as text."""
    if part.is_multipart():
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return "".join(f"{name}: {value}\n" for name, value in inner[0].items())
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    return str(part.get_payload())


def _decoded_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, "replace")
    except LookupError:
        return payload.decode("utf-8", "replace")


def body_text(mail: Message) -> str:
    """The readable text of the mail: its first text/plain part, else its HTML as text."""
    html = ""
    for part in mail.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        if part.get_content_type() in _RETURNED_TYPES:
            continue
        content_type = part.get_content_type()
        if content_type == "text/plain":
            return _decoded_text(part)
        if content_type == "text/html" and not html:
            html = _decoded_text(part)
    return html_to_text(html) if html else ""
