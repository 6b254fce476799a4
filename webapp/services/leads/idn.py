"""International domain names: stored in their ASCII form (`xn--zo-ija.nl`), shown as people
write them (`zoë.nl`), and found by the leads search whichever of the two is typed."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

import idna
import sqlalchemy as sa

from webapp.extensions import db
from webapp.models import Lead
from webapp.services.leads.search import contains_condition

_ACE = "xn--"
# Every string matches: an optional `scheme://`, the authority, and the rest.
_URL = re.compile(
    r"(?P<head>(?:[a-z][a-z0-9+.-]*:)?//)?(?P<authority>[^/?#]*)(?P<rest>.*)", re.I | re.S
)
# Letters of these scripts look alike; a label mixing them is shown in its ASCII form, as
# browsers do, so that a look-alike domain cannot pass for the real one.
_LOOK_ALIKE_SCRIPTS = frozenset({"LATIN", "CYRILLIC", "GREEK"})


def unicode_host(host: str | None) -> str:
    """A host name as people write it: `xn--zo-ija.nl` -> `zoë.nl`; other names unchanged."""
    if not host or _ACE not in host.lower():
        return host or ""
    return ".".join(_unicode_label(label) for label in host.split("."))


def unicode_email(email: str | None) -> str:
    """An address with its domain as people write it: `info@zoë.nl`."""
    local, at, host = (email or "").rpartition("@")
    return f"{local}{at}{unicode_host(host)}" if at else email or ""


def unicode_url(url: str | None) -> str:
    """A URL with its host as people write it: `https://zoë.nl/contact`."""
    if not url or _ACE not in url.lower():
        return url or ""
    parts = _URL.match(url)
    assert parts is not None
    userinfo, at, host_port = parts["authority"].rpartition("@")
    host, colon, port = host_port.partition(":")
    return f"{parts['head'] or ''}{userinfo}{at}{unicode_host(host)}{colon}{port}{parts['rest']}"


def _unicode_label(label: str) -> str:
    if not label.lower().startswith(_ACE):
        return label
    try:
        decoded = idna.decode(label)
    except idna.IDNAError:  # not a valid IDNA 2008 label: the ASCII form is all there is
        return label
    scripts = {unicodedata.name(char, "").split(" ")[0] for char in decoded if char.isalpha()}
    return label if len(scripts & _LOOK_ALIKE_SCRIPTS) > 1 else decoded


def idn_search(q: str) -> Any | None:
    """A condition for leads whose address or domain, written in Unicode, contains `q`, or
    None. Only non-ASCII text needs it: ASCII text (`xn--zo-ija`) is found as stored."""
    needle = unicodedata.normalize("NFC", q).lower()
    if needle.isascii():
        return None
    # The database cannot decode punycode, so the (few) IDN addresses and domains are
    # decoded here; a partial label ("lumière" of café-lumière.nl) is found too.
    emails: set[str] = set()
    domains: set[str] = set()
    rows = db.session.execute(
        sa.select(Lead.email, Lead.domain)
        .where(contains_condition(_ACE))  # the search index finds the few IDN rows
        .distinct()
    )
    for email, domain in rows:
        if needle in unicode_email(email).lower():
            emails.add(email)
        if domain and needle in unicode_host(domain).lower():
            domains.add(domain)
    if not emails and not domains:
        return None
    return sa.or_(Lead.email.in_(sorted(emails)), Lead.domain.in_(sorted(domains)))
