"""Small pure helpers over lead fields, shared by the importer and the audience builder."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

# Mailboxes of people, not companies: one_per_domain never collapses these.
FREE_MAIL_DOMAINS: frozenset[str] = frozenset(
    {
        # Dutch providers, past and present
        "ziggo.nl",
        "kpnmail.nl",
        "kpnplanet.nl",
        "planet.nl",
        "home.nl",
        "xs4all.nl",
        "casema.nl",
        "upcmail.nl",
        "chello.nl",
        "hetnet.nl",
        "zonnet.nl",
        "quicknet.nl",
        "telfort.nl",
        "online.nl",
        "tele2.nl",
        "freeler.nl",
        "caiway.nl",
        "solcon.nl",
        "hccnet.nl",
        "wxs.nl",
        "onsbrabantnet.nl",
        "live.nl",
        "hotmail.nl",
        "outlook.nl",
        "msn.nl",
        "yahoo.nl",
        "gmail.nl",
        # International providers
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "protonmail.com",
        "protonmail.ch",
        "proton.me",
        "pm.me",
        "gmx.com",
        "gmx.net",
        "gmx.de",
        "web.de",
        "mail.com",
        "zoho.com",
        "tutanota.com",
        "hotmail.be",
        "telenet.be",
        "skynet.be",
    }
)

# A host name after IDN conversion: dot-separated labels and a top-level label of two or more
# characters starting with a letter, so IP addresses, "localhost" and "n.v.t." do not count.
_HOST_RE = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{1,62}$"
)


def company_domain(url: str | None, email: str) -> str | None:
    """The company's domain: from `url` when it has a usable host, else from the address."""
    if url and url.strip():
        domain = _normalise_host(_host_of_url(url.strip()))
        if domain is not None:
            return domain
    _, at, host = (email or "").strip().rpartition("@")
    return _normalise_host(host) if at else None


# What a URL scheme looks like; a host with a port ("bedrijf.nl:8080") looks alike, but
# has a dot and a port number after the colon.
_SCHEME = re.compile(r"([a-z][a-z0-9+.\-]*):([0-9]*)", re.IGNORECASE)
WEB_SCHEMES = frozenset({"http", "https"})
NOT_A_WEB_ADDRESS = _l("a web address starting with http:// or https://")


def url_problem(url: str) -> str | None:
    """Why `url` may not be a lead's web address, or None.

    It ends up in mails (`<a href="{{ url }}">`), so only http(s) may run there: a
    `javascript:` or `data:` address is refused. One without a scheme (`www.bedrijf.nl`,
    as spreadsheets hold them) is a harmless relative link and is kept.
    """
    # Browsers ignore control characters and spaces in a scheme ("java\tscript:").
    bare = re.sub(r"[\x00-\x20\x7f]", "", url)
    match = _SCHEME.match(bare)
    if match is None or match[1].lower() in WEB_SCHEMES:
        return None
    if "." in match[1] and match[2] and bare[match.end() :][:1] in ("", "/", "?", "#"):
        return None  # a host and a port, not a scheme
    return str(NOT_A_WEB_ADDRESS)


def is_free_mail(domain: str | None) -> bool:
    """Whether the domain is a free-mail provider's (a person's mailbox, not a company)."""
    if not domain:
        return False
    return _normalise_host(domain) in FREE_MAIL_DOMAINS


def _host_of_url(url: str) -> str:
    # Without a scheme, urlsplit reads "example.nl:8080" as scheme "example.nl".
    if "://" not in url and not url.startswith("//"):
        url = "//" + url
    try:
        return urlsplit(url).hostname or ""
    except ValueError:  # e.g. an unbalanced "[" in the host
        return ""


def _normalise_host(host: str) -> str | None:
    host = host.strip().strip(".").lower()
    if not host:
        return None
    try:
        host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:  # empty or over-long label, or characters IDNA refuses
        return None
    if host.startswith("www.") and "." in host[4:]:
        host = host[4:]
    return host if _HOST_RE.match(host) else None
