"""Reading plain values from JSON, forms and the command line, the same way everywhere."""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext as _

from webapp.formats import thousands

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", ""})
# ASCII digits only: int() also reads "٣" and str.isdigit() also passes "²".
# Pages past this are empty anyway; the bound keeps OFFSET far inside a bigint.
MAX_PAGE = 1_000_000
WHOLE_NUMBER = re.compile(r"-?[0-9]{1,20}")


def parse_bool(raw: Any) -> bool:
    """true / false from JSON or a form ("on", "1", "yes" / "off", "0", "no", "")."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in TRUE_WORDS:
        return True
    if isinstance(raw, str) and raw.strip().lower() in FALSE_WORDS:
        return False
    raise ValueError(_("must be true or false"))


def text_problem(value: str) -> str | None:
    """Why a piece of text cannot be stored (a NUL byte, a lone surrogate), or None."""
    if "\x00" in value:
        return str(_("must not contain NUL bytes"))
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return str(_("must be valid Unicode text"))
    return None


def parse_int(raw: Any, low: int, high: int) -> int:
    """A whole number between `low` and `high` from JSON, a form or a query string."""
    if isinstance(raw, bool):
        raise ValueError(_("must be a whole number"))
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and WHOLE_NUMBER.fullmatch(raw.strip()):
        value = int(raw.strip())
    elif isinstance(raw, str) and re.fullmatch(r"-?[0-9]+", raw.strip()):
        raise ValueError(_between(low, high))
    else:
        raise ValueError(_("must be a whole number"))
    if not low <= value <= high:
        raise ValueError(_between(low, high))
    return value


def _between(low: int, high: int) -> str:
    return str(_("must be between %(low)s and %(high)s", low=thousands(low), high=thousands(high)))


def clamp_int(raw: Any, default: int, low: int, high: int) -> int:
    """A page number or page size from a query string: out of range is clamped to it, and
    anything that is not a number is the default (a link should always lead somewhere)."""
    if isinstance(raw, str) and re.fullmatch(r"-?[0-9]+", raw.strip()):
        digits = raw.strip()
        if not WHOLE_NUMBER.fullmatch(digits):  # far beyond any bound
            return low if digits.startswith("-") else high
        return min(max(int(digits), low), high)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return min(max(raw, low), high)
    return default
