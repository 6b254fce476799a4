"""Cleaning a spreadsheet's cells: text, e-mail addresses, variable names."""

from __future__ import annotations

import re
import unicodedata

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

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
