"""Reading a spreadsheet's columns as lead fields: header names, mapping, cleaning cells."""

from __future__ import annotations

import re
import unicodedata

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

EMAIL = "email"
COMPANY = "company"
URL = "url"
IGNORE = "ignore"
VAR_PREFIX = "var:"

# Header names (lower-case, letters and digits only) that mean the lead's own fields.
EMAIL_HEADERS = frozenset(
    {"email", "emailadres", "emailaddress", "mail", "mailadres", "mailaddress", "emails"}
)
COMPANY_HEADERS = frozenset(
    {"company", "companyname", "bedrijf", "bedrijfsnaam", "organisatie", "organisation",
     "organization", "firma", "naambedrijf"}
)  # fmt: skip
URL_HEADERS = frozenset(
    {"url", "website", "websiteurl", "site", "web", "homepage", "webadres", "websiteadres"}
)
# Lead columns an import never sets, whatever the file calls its columns.
PROTECTED_HEADERS = frozenset(
    {"id", "status", "stopped", "deletedat", "lastemailedat", "createdat", "updatedat",
     "listname", "domain"}
)  # fmt: skip

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)
_ANGLE = re.compile(r"<([^<>]*)>\s*$")


# -- cleaning -------------------------------------------------------------------------


def clean_text(value: str) -> str:
    """Trim, drop zero-width characters, read non-breaking spaces as spaces."""
    return value.translate(_INVISIBLE).replace("\u00a0", " ").strip()


def normalise_email(raw: str) -> tuple[str | None, str | None]:
    """(address, None) for a usable address, (None, reason) otherwise; no DNS lookups."""
    value = clean_text(raw)
    match = _ANGLE.search(value)
    if match:  # "Jan Jansen <jan@bedrijf.nl>"
        value = match.group(1).strip()
    if value[:7].lower() == "mailto:":
        value = value[7:].split("?", 1)[0].strip()
    value = value.strip("\"' ")
    if not value:
        return None, "no e-mail address"
    simple = value.lower()
    if _is_plain_address(simple):
        return simple, None
    try:
        result = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        return None, f"invalid e-mail address {value!r}: {error}"
    # ascii_email carries an IDN domain in its xn-- form.
    return (result.ascii_email or result.normalized).lower(), None


_PLAIN_LOCAL = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_PLAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _is_plain_address(value: str) -> bool:
    """A plain ASCII address the validator would accept unchanged: checked without it.

    The validator costs tens of microseconds an address; most rows of a big file are this
    simple. Anything unusual (IDN, `xn--`, quoting, special-use names) takes the full path.
    """
    local, at, domain = value.partition("@")
    if not at or len(value) > 254 or len(local) > 64 or len(domain) > 253:
        return False
    if not _PLAIN_LOCAL.fullmatch(local):
        return False
    labels = domain.split(".")
    tld = labels[-1]
    return (
        len(labels) >= 2
        and all(_PLAIN_LABEL.fullmatch(label) and "--" not in label for label in labels)
        and not tld.isdigit()
        and tld[0].isalpha()
        and tld not in SPECIAL_USE_DOMAIN_NAMES
    )


def var_key(header: str) -> str:
    """A header as a template variable name: `First Name` -> `first_name`."""
    text = unicodedata.normalize("NFKC", clean_text(header)).lower()
    key = re.sub(r"\W+", "_", text).strip("_")
    if key and key[0].isdigit():
        key = f"column_{key}"
    return key


def _header_word(header: str) -> str:
    return re.sub(r"[^0-9a-z]", "", clean_text(header).lower())


def guess_mapping(header: list[str]) -> list[str]:
    """Where each column goes: email, company, url, `var:<name>` or ignore."""
    mapping: list[str] = []
    taken: set[str] = set()
    for index, name in enumerate(header):
        word = _header_word(name)
        target = None
        for field_name, words in (
            (EMAIL, EMAIL_HEADERS),
            (COMPANY, COMPANY_HEADERS),
            (URL, URL_HEADERS),
        ):
            if word in words and field_name not in taken:
                target = field_name
        if target is None and word in PROTECTED_HEADERS:
            target = IGNORE
        if target is None:
            key = var_key(name) or f"column_{index + 1}"
            base, n = key, 2
            while f"{VAR_PREFIX}{key}" in taken or key in (EMAIL, COMPANY, URL):
                key, n = f"{base}_{n}", n + 1
            target = f"{VAR_PREFIX}{key}"
        taken.add(target)
        mapping.append(target)
    return mapping


def check_mapping(mapping: list[str], header: list[str]) -> str | None:
    """Why the mapping cannot be imported, or None."""
    emails = mapping.count(EMAIL)
    if emails == 0:
        found = ", ".join(repr(clean_text(name)) for name in header) or "none"
        return (
            "no e-mail column: name one `email`, `E-mail` or `E-mailadres`, "
            f"or choose it in the mapping (columns found: {found})"
        )
    if emails > 1:
        return "choose one e-mail column"
    for name in (COMPANY, URL):
        if mapping.count(name) > 1:
            return f"choose one {name} column"
    return None
