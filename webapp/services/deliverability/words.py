"""Check results are stored as message ids with their values, and worded when shown.

The daily pass runs without a reader; the page and the API word the same stored result
in the reader's language. `N_` only marks a message id for `make extract`.
"""

from __future__ import annotations

from typing import Any

from flask_babel import gettext


def N_(msgid: str) -> str:
    return msgid


def said(msgid: str, **args: Any) -> dict[str, Any]:
    """A sentence to word later: its English message id and its values."""
    return {"msgid": msgid, "args": args}


def word(sentences: Any) -> str:
    """Stored sentences (one, a list, or None) in the reader's language, one after another."""
    if not sentences:
        return ""
    if isinstance(sentences, list):
        return " ".join(word(sentence) for sentence in sentences)
    args = sentences.get("args") or {}
    msgid = sentences["msgid"]
    return str(gettext(msgid, **args)) if args else str(gettext(msgid))
