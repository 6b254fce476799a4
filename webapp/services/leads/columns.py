"""Cleaning a spreadsheet's cells: text, e-mail addresses, variable names."""

from __future__ import annotations

import re
import unicodedata

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

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
        return None, _("no e-mail address")
    simple = value.lower()
    if _is_plain_address(simple):
        return simple, None
    try:
        result = validate_email(value, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        return None, _(
            "invalid e-mail address %(address)s: %(reason)s",
            address=repr(value),
            reason=_validator_reason(str(error)),
        )
    # ascii_email carries an IDN domain in its xn-- form.
    return (result.ascii_email or result.normalized).lower(), None


def N_(text: str) -> str:
    """A text for the catalog (`N_` is a name the extractor knows), translated later where
    it is shown."""
    return text


# The validator's reasons an address in a lead file most often has, written as the
# validator writes them and translated when shown; rarer ones stay in the validator's
# English. Reasons that end by quoting the characters at fault (": 'ü'.") are matched by
# their start.
_VALIDATOR_REASONS = frozenset(
    {
        N_("An email address must have an @-sign."),
        N_("There must be something before the @-sign."),
        N_("There must be something after the @-sign."),
        N_("An email address cannot have two periods in a row."),
        N_("An email address cannot start with a period."),
        N_("An email address cannot end with a period."),
        N_("An email address cannot have a period immediately before the @-sign."),
        N_("An email address cannot have a period immediately after the @-sign."),
        N_("The part after the @-sign is not valid. It should have a period."),
        N_("The part after the @-sign is not valid. It is not within a valid top-level domain."),
        N_(
            "The part after the @-sign is a special-use or reserved name that cannot be used "
            "with email."
        ),
    }
)
_VALIDATOR_REASON_STARTS = {
    "The part after the @-sign contains invalid characters: ": _l(
        "The part after the @-sign contains invalid characters: %(characters)s"
    ),
    "The email address contains invalid characters before the @-sign: ": _l(
        "The email address contains invalid characters before the @-sign: %(characters)s"
    ),
    "Internationalized characters before the @-sign are not supported: ": _l(
        "Internationalized characters before the @-sign are not supported: %(characters)s"
    ),
}


def _validator_reason(reason: str) -> str:
    """The e-mail validator's reason, in the reader's language where it is a common one."""
    if reason in _VALIDATOR_REASONS:
        return str(_(reason))
    for start, text in _VALIDATOR_REASON_STARTS.items():
        if reason.startswith(start):
            return str(text) % {"characters": reason.removeprefix(start)}
    return reason


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
        # The validator's rule: every top-level domain ends with a letter.
        and tld[0].isalpha()
        and tld[-1].isalpha()
        and tld not in SPECIAL_USE_DOMAIN_NAMES
    )


def var_key(header: str) -> str:
    """A header as a template variable name: `First Name` -> `first_name`."""
    text = unicodedata.normalize("NFKC", clean_text(header)).lower()
    key = re.sub(r"\W+", "_", text).strip("_")
    if key and key[0].isdigit():
        key = f"column_{key}"
    return key
