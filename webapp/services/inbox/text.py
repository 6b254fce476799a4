"""The first lines of an answer, without the quoted mail it answers or the phone signature."""

from __future__ import annotations

import re

MAX_LINES = 5
MAX_CHARS = 500

# A line that starts the quoted original: Gmail, Outlook, Apple Mail, in English and Dutch.
_QUOTE_START = re.compile(
    r"^\s*(?:"
    r"-{2,}\s*(?:original message|oorspronkelijk bericht|origineel bericht|"
    r"forwarded message|doorgestuurd bericht)\s*-{2,}"
    r"|_{10,}"
    r"|(?:from|van|von)\s*:\s*.+"  # Outlook's header block of the original
    r"|begin forwarded message:"
    r")\s*$",
    re.I,
)
# "On <date>, <name> wrote:" and "Op <datum> schreef <naam>:" may wrap over two lines.
_ATTRIBUTION_START = re.compile(r"^\s*(?:on|op|am|le)\s+\S", re.I)
_ATTRIBUTION_END = re.compile(
    r"(?:wrote|schreef|geschreven|schrieb|a écrit)\s*:\s*$|het volgende geschreven\s*:?\s*$", re.I
)
_SIGNOFF = re.compile(
    r"^\s*(?:sent from my|verzonden (?:vanaf|met|van) mijn|get outlook for|"
    r"download outlook for|verstuurd vanaf mijn)\b",
    re.I,
)


def strip_quoted(text: str) -> str:
    """Only the new part of an answer: everything from the quoted original on is cut."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        if line.startswith(">") or _QUOTE_START.match(line) or line.rstrip() == "--":
            break
        if _ATTRIBUTION_START.match(line) and _ends_attribution(lines, index):
            break
        if _SIGNOFF.match(line):
            continue
        kept.append(line.rstrip())
    return "\n".join(kept).strip()


def _ends_attribution(lines: list[str], index: int) -> bool:
    window = " ".join(lines[index : index + 3])
    return bool(_ATTRIBUTION_END.search(lines[index])) or bool(
        re.search(r"(?:wrote|schreef|geschreven|schrieb)\s*:", window, re.I)
    )


def first_lines(text: str, max_lines: int = MAX_LINES, max_chars: int = MAX_CHARS) -> str:
    """The first non-empty lines of the new part of an answer, at most `max_chars` long."""
    lines = [line for line in strip_quoted(text).split("\n") if line.strip()]
    excerpt = "\n".join(lines[:max_lines])
    if len(excerpt) > max_chars:
        excerpt = excerpt[: max_chars - 1].rstrip() + "…"
    return excerpt
