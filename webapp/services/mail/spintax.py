"""Spintax: `{Hallo|Hoi|Goedemiddag}` in a mail's texts, one version chosen per lead and step.

A group is a `{` (not `{{`, `{%` or `{#`) with at least one `|` at its own level before its
matching `}`; groups nest. Jinja tags inside an alternative are left as they are, and text
between Jinja's own delimiters is never read as spintax. A brace without a `|` at its level
(CSS, `{color: red}`) is plain text.

Nothing is expanded as text: `to_jinja` turns each group into an `{% if %}` chain over
`_spin[k]`, the k-th group's choice, so a part compiles once, the sandbox and its limits
hold for every version, and the template's line numbers stay as written. The choices come
from a seed (the lead and the mail number: a pause, a re-plan or a restart never changes
them) or from a version number (the editor's preview of version n).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from functools import lru_cache

from flask_babel import gettext as _

SPIN_NAME = "_spin"
# A part may hold this many groups, nested this deep, with this many alternatives each.
MAX_GROUPS = 100
MAX_DEPTH = 6
MAX_ALTERNATIVES = 20
# ...and this many choices in all: each one is a branch Jinja compiles, and a text of
# thousands took seconds to save.
MAX_CHOICES = 200

_JINJA_OPEN = {"{{": "}}", "{%": "%}", "{#": "#}"}
# `{% raw %}`: what follows up to `{% endraw %}` is text as written, never spintax.
_RAW = re.compile(r"\{%[-+]?\s*raw\s*[-+]?%\}")
_END_RAW = re.compile(r"\{%[-+]?\s*endraw\s*[-+]?%\}")


def _jinja_end(source: str, position: int) -> int:
    """Where the Jinja tag, expression or comment opening at `position` ends (a raw block
    with its `{% endraw %}`), or -1 when it never closes."""
    raw = _RAW.match(source, position)
    if raw:
        closing = _END_RAW.search(source, raw.end())
        return -1 if closing is None else closing.end()
    pair = source[position : position + 2]
    end = source.find(_JINJA_OPEN[pair], position + 2)
    return -1 if end == -1 else end + 2


class SpintaxError(ValueError):
    """Spintax past its limits; `line` is where the group starts."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


@dataclass
class Group:
    """One `{a|b|c}`: its number in source order and its alternatives."""

    index: int
    line: int
    alternatives: list[Sequence] = field(default_factory=list)


@dataclass
class Sequence:
    """Text and groups in order (an alternative, or a whole part)."""

    items: list[str | Group] = field(default_factory=list)


@dataclass(frozen=True)
class Spun:
    """A part read for spintax: its Jinja form and each group's number of alternatives."""

    source: str
    sizes: tuple[int, ...]
    tree: Sequence

    @property
    def versions(self) -> int:
        return versions_of(self.tree)


@lru_cache(maxsize=512)
def read(source: str) -> Spun:
    """The part's Jinja form and its groups; SpintaxError past the limits."""
    if "|" not in source or "{" not in source:
        return Spun(source, (), Sequence([source]))
    parser = _Parser(source)
    tree = parser.sequence(depth=0)
    return Spun(_jinja(tree), tuple(len(g.alternatives) for g in parser.groups), tree)


def to_jinja(source: str) -> str:
    return read(source).source


def versions_of(sequence: Sequence) -> int:
    """How many different texts the sequence can become."""
    count = 1
    for item in sequence.items:
        if isinstance(item, Group):
            count *= sum(versions_of(alternative) for alternative in item.alternatives)
    return count


def seeded_choices(sizes: tuple[int, ...], seed: str) -> list[int]:
    """Each group's choice for one seed: the same seed gives the same choices, always."""
    choices = []
    for index, size in enumerate(sizes):
        digest = hashlib.blake2b(f"{seed}\x1f{index}".encode(), digest_size=8).digest()
        choices.append(int.from_bytes(digest, "big") % size)
    return choices


def version_choices(spun: Spun, version: int) -> list[int]:
    """The choices that make version `version` (0-based, modulo the number of versions)."""
    choices = [0] * len(spun.sizes)
    _decode(spun.tree, version % spun.versions, choices)
    return choices


def _decode(sequence: Sequence, number: int, choices: list[int]) -> None:
    for item in sequence.items:
        if not isinstance(item, Group):
            continue
        counts = [versions_of(alternative) for alternative in item.alternatives]
        number, here = divmod(number, sum(counts))
        for position, count in enumerate(counts):
            if here < count:
                choices[item.index] = position
                _decode(item.alternatives[position], here, choices)
                break
            here -= count


def _jinja(sequence: Sequence) -> str:
    out: list[str] = []
    for item in sequence.items:
        if isinstance(item, str):
            out.append(item)
            continue
        choice = f"{SPIN_NAME}[{item.index}]"
        last = len(item.alternatives) - 1
        for position, alternative in enumerate(item.alternatives):
            if position == 0:
                out.append(f"{{% if {choice} == 0 %}}")
            elif position < last:
                out.append(f"{{% elif {choice} == {position} %}}")
            else:
                out.append("{% else %}")
            out.append(_jinja(alternative))
        out.append("{% endif %}")
    return "".join(out)


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.position = 0
        self.groups: list[Group] = []
        self.choices = 0
        self.groups_at = _group_openings(source)

    def line(self, position: int) -> int:
        return self.source.count("\n", 0, position) + 1

    def sequence(self, depth: int, inside: bool = False) -> Sequence:
        """Read until the end, or (inside a group) until its `|` or `}` at this level."""
        sequence = Sequence()
        text: list[str] = []
        source = self.source
        plain = 0  # braces open at this level that are text, not groups
        while self.position < len(source):
            char = source[self.position]
            pair = source[self.position : self.position + 2]
            if pair in _JINJA_OPEN:
                end = _jinja_end(source, self.position)
                end = len(source) if end == -1 else end
                text.append(source[self.position : end])
                self.position = end
            elif char == "{":
                group = self.group(depth + 1)
                if group is None:
                    text.append(char)
                    self.position += 1
                    plain += 1
                else:
                    if text:
                        sequence.items.append("".join(text))
                        text = []
                    sequence.items.append(group)
            elif char == "}" and plain:
                text.append(char)
                self.position += 1
                plain -= 1
            elif inside and not plain and char in "|}":
                break
            else:
                text.append(char)
                self.position += 1
        if text:
            sequence.items.append("".join(text))
        return sequence

    def group(self, depth: int) -> Group | None:
        """A group at the `{` under the cursor, or None (the cursor unmoved) if it is none."""
        start = self.position
        if not self._is_group(start):
            return None
        line = self.line(start)
        if depth > MAX_DEPTH:
            raise SpintaxError(
                _("spintax is nested deeper than %(max)s levels", max=MAX_DEPTH), line
            )
        if len(self.groups) >= MAX_GROUPS:
            raise SpintaxError(
                _("a text may hold at most %(max)s spintax groups", max=MAX_GROUPS), line
            )
        group = Group(index=len(self.groups), line=line)
        self.groups.append(group)
        self.position += 1
        while True:
            group.alternatives.append(self.sequence(depth, inside=True))
            closing = self.source[self.position]
            self.position += 1
            if closing == "}":
                break
        if len(group.alternatives) > MAX_ALTERNATIVES:
            raise SpintaxError(
                _("a spintax group may offer at most %(max)s choices", max=MAX_ALTERNATIVES),
                line,
            )
        self.choices += len(group.alternatives)
        if self.choices > MAX_CHOICES:
            raise SpintaxError(
                _("a text may offer at most %(max)s spintax choices in all", max=MAX_CHOICES),
                line,
            )
        return group

    def _is_group(self, start: int) -> bool:
        """Whether the `{` at `start` closes, with a `|` at its own level before it."""
        return self.groups_at.get(start, False)


def _group_openings(source: str) -> dict[int, bool]:
    """For each `{` that closes: whether a `|` stands at its own level. One pass, so a text
    of nothing but braces costs no more than its length."""
    found: dict[int, bool] = {}
    stack: list[list[int]] = []  # [position of the `{`, a `|` seen at its level]
    position = 0
    length = len(source)
    while position < length:
        pair = source[position : position + 2]
        if pair in _JINJA_OPEN:
            end = _jinja_end(source, position)
            if end == -1:
                break
            position = end
            continue
        char = source[position]
        if char == "{":
            stack.append([position, 0])
        elif char == "}" and stack:
            opening, bar = stack.pop()
            found[opening] = bool(bar)
        elif char == "|" and stack:
            stack[-1][1] = 1
        position += 1
    return found
