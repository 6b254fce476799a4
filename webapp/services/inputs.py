"""Reading plain values from JSON, forms and the command line, the same way everywhere."""

from __future__ import annotations

from typing import Any

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", ""})


def parse_bool(raw: Any) -> bool:
    """true / false from JSON or a form ("on", "1", "yes" / "off", "0", "no", "")."""
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in TRUE_WORDS:
        return True
    if isinstance(raw, str) and raw.strip().lower() in FALSE_WORDS:
        return False
    raise ValueError("must be true or false")
