"""What one render of a mail template may build and spend: sizes, loops, time.

The deadline is only looked at between operations (a call, a filter, a look-up, a
loop turn): an operation Python runs in C, such as comparing two lists or repeating
one, cannot be stopped once it has begun. So every value a template builds is kept
small enough that any single operation on it is cheap, and the bound is checked
before the value is built wherever its size follows from the inputs.

A value's size counts what an operation may have to walk: the characters of a
string, and for a list, tuple or dict its entries plus the sizes of what they hold,
a shared part counted each time it is reached. `[l] * 3000` of a list of 1,000 is
3,003,000 items, though it takes little memory: comparing it, summing it or turning
it into text walks all of them. Lists, tuples and dicts a template builds carry their
size, so checking a new value costs what building it costs, never more.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import ItemsView, Iterable, Iterator, KeysView, ValuesView
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, NamedTuple

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from webapp.formats import decimal, thousands

MAX_SOURCE_CHARS = 64 * 1024  # one part of one step, as written
MAX_STRING_CHARS = 256 * 1024  # characters in any value a template builds, and each part
# Text a filter that works word by word in Python (title, wordwrap, urlize) may take:
# urlize spends about 0.75 microseconds a character, some 12 ms here (bench/sandbox_limits.py).
MAX_WORDS_FILTER_CHARS = 16 * 1024
MAX_LIST_ITEMS = 10_000  # items in any value a template builds, nested ones counted in full
MAX_RANGE = 1_000
MAX_ITERATIONS = 20_000  # loop iterations in one render, all loops together
MAX_POWER_BITS = 1_024  # any whole number a template builds by * or **
RENDER_SECONDS = 0.5  # the whole mail: subject, HTML and text
_CHECK_EVERY = 64  # items a filter may walk between two looks at the deadline


class LimitExceeded(Exception):
    """A render went past a size, time or iteration limit."""


@dataclass
class Budget:
    """What one render may still spend."""

    deadline: float
    iterations: int = MAX_ITERATIONS
    spent: list[str] = field(default_factory=list)

    def check(self) -> None:
        if time.monotonic() > self.deadline:
            raise LimitExceeded(
                _("took longer than %(seconds)s s to render", seconds=decimal(RENDER_SECONDS))
            )

    def tick(self) -> None:
        self.iterations -= 1
        if self.iterations < 0:
            raise LimitExceeded(
                _("loops ran more than %(max)s times", max=thousands(MAX_ITERATIONS))
            )
        if self.iterations % _CHECK_EVERY == 0:
            self.check()


_budget: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "mail_render_budget", default=None
)


@contextmanager
def render_budget() -> Iterator[Budget]:
    """One budget for all rendered inside: a mail's parts and the subject it falls back on.

    Inside another render_budget, the outer one goes on.
    """
    outer = _budget.get()
    if outer is not None:
        yield outer
        return
    budget = Budget(deadline=time.monotonic() + RENDER_SECONDS)
    token = _budget.set(budget)
    try:
        yield budget
    finally:
        _budget.reset(token)


def current_budget() -> Budget:
    budget = _budget.get()
    if budget is None:  # outside start_budget (Jinja folding constants): limits all the same
        budget = Budget(deadline=time.monotonic() + RENDER_SECONDS)
    return budget


class Size(NamedTuple):
    """What walking a value means: entries of lists, tuples and dicts, and characters."""

    items: int
    chars: int

    def __add__(self, other: object) -> Size:  # adds up, where a tuple would join
        assert isinstance(other, Size)
        return Size(self.items + other.items, self.chars + other.chars)

    def times(self, count: int) -> Size:
        return Size(self.items * count, self.chars * count)


EMPTY = Size(0, 0)


class SizedList(list[Any]):
    """A list a template built, with its size."""

    __slots__ = ("_mail_size",)
    _mail_size: Size


class SizedTuple(tuple[Any, ...]):
    """A tuple a template built, with its size (tuples take no __slots__)."""

    _mail_size: Size


class SizedDict(dict[Any, Any]):
    """A dict a template built, with its size."""

    __slots__ = ("_mail_size",)
    _mail_size: Size


_SIZED = (SizedList, SizedTuple, SizedDict)
# Python's own errors name the type ("can only concatenate list (not "tuple") to list"):
# to a template's author these are plain lists, tuples and dicts.
for _made, _plain in zip(_SIZED, (list, tuple, dict), strict=True):
    _made.__name__ = _made.__qualname__ = _plain.__name__
_PLAIN = (list, tuple, dict, set, frozenset)
_MAKERS: dict[type, type[SizedList] | type[SizedTuple] | type[SizedDict]] = {
    list: SizedList,
    tuple: SizedTuple,
    dict: SizedDict,
}


# What built a value, as a refusal names it; the code passes the English key (or a lazy
# text of its own), and only a refusal reads the translation. Filter names stay as written.
BUILDERS = {
    "a value": _l("a value"),
    "a list": _l("a list"),
    "a dict": _l("a dict"),
    "a look-up": _l("a look-up"),
    "a call": _l("a call"),
    "a block of output": _l("a block of output"),
    "joining strings": _l("joining strings"),
    "joining strings with ~": _l("joining strings with ~"),
    "joining lists": _l("joining lists"),
    "repeating a string": _l("repeating a string"),
    "repeating a list": _l("repeating a list"),
}


def check(size: Size, what: str) -> None:
    """Refuse a value of this size, naming what would have built it."""
    if size.chars <= MAX_STRING_CHARS and size.items <= MAX_LIST_ITEMS:
        return
    builder = str(BUILDERS.get(what, what))
    if size.chars > MAX_STRING_CHARS:
        raise LimitExceeded(
            _(
                "%(what)s would make more than %(max)s characters",
                what=builder,
                max=thousands(MAX_STRING_CHARS),
            )
        )
    raise LimitExceeded(
        _(
            "%(what)s would make a list of more than %(max)s items (items in nested lists"
            " counted too)",
            what=builder,
            max=thousands(MAX_LIST_ITEMS),
        )
    )


def size_of(value: Any, what: str = "a value") -> Size:
    """The size of a value; past the limits it raises rather than finish counting."""
    if isinstance(value, str):
        return Size(0, len(value))
    if isinstance(value, _SIZED):
        return value._mail_size
    if isinstance(value, range):
        return Size(len(value), 0)
    if isinstance(value, _PLAIN):
        return _count(value, {}, what)
    return EMPTY


def _count(value: Any, seen: dict[int, Size], what: str) -> Size:
    """Size of a container not built by a template (a filter's own list, a named tuple)."""
    known = seen.get(id(value))
    if known is not None:
        return known
    total = Size(len(value), 0)
    for entry in _entries(value):
        if isinstance(entry, _PLAIN) and not isinstance(entry, _SIZED):
            total = total + _count(entry, seen, what)
        else:
            total = total + size_of(entry)
        if total.items > MAX_LIST_ITEMS or total.chars > MAX_STRING_CHARS:
            check(total, what)
    seen[id(value)] = total
    return total


def _entries(value: Any) -> Iterable[Any]:
    return chain.from_iterable(value.items()) if isinstance(value, dict) else value


def sized(value: Any, what: str, size: Size | None = None) -> Any:
    """`value` if it is within the limits: lists, tuples and dicts then carry their size,
    and an iterator counts what it hands out."""
    if isinstance(value, str):
        check(Size(0, len(value)), what)
        return value
    if isinstance(value, _SIZED):
        return value
    if isinstance(value, _PLAIN):
        size = size if size is not None else size_of(value, what)
        check(size, what)
        maker = _MAKERS.get(type(value))
        if maker is None:  # a named tuple (groupby's groups): keep its type and its names
            return value
        made = maker(value)
        made._mail_size = size
        return made
    if isinstance(value, KeysView | ValuesView | ItemsView):
        # `d.items()` is a fresh object each time, so a list of them would compare entry by
        # entry while counting one item each: a list, it has its size.
        return sized(list(value), what)
    if isinstance(value, Iterator):
        return _counted(value, what)
    return value


def deep_sized(value: Any) -> Any:
    """A context value with every list, tuple and dict in it carrying its size.

    A lead's values are not refused for their size: only what a template builds from them is.
    """
    maker = _MAKERS.get(type(value))
    if maker is None:
        return value
    made: Any
    if isinstance(value, dict):
        made = SizedDict((key, deep_sized(item)) for key, item in value.items())
    else:
        made = maker(deep_sized(item) for item in value)
    total = Size(len(made), 0)
    for entry in _entries(made):
        total = total + size_of(entry)
    made._mail_size = total
    return made


def _counted(items: Iterator[Any], what: str) -> Iterator[Any]:
    """Hand out `items` while all of them together stay within the limits."""
    budget = current_budget()
    total = EMPTY
    for number, item in enumerate(items):
        total = total + Size(1, 0) + size_of(item, what)
        check(total, what)
        if number % _CHECK_EVERY == 0:
            budget.check()
        yield item


class OutputBuffer(list[str]):
    """The output of a macro or a `{% set %}` / `{% filter %}` block as it is written:
    refused as soon as it passes the limit, not when it is joined."""

    __slots__ = ("_chars",)

    def __init__(self) -> None:
        super().__init__()
        self._chars = 0

    def append(self, chunk: str) -> None:
        self._grow(len(chunk))
        super().append(chunk)

    def extend(self, chunks: Iterable[str]) -> None:
        chunks = list(chunks)
        self._grow(sum(len(chunk) for chunk in chunks))
        super().extend(chunks)

    def _grow(self, chars: int) -> None:
        self._chars += chars
        check(Size(0, self._chars), "a block of output")


def repeated(seq: Any, times: int, what: str) -> Any:
    """`seq * times` for a string, list or tuple, checked before it is built."""
    if times <= 0:
        return seq * times
    size = size_of(seq, what).times(times)
    check(size, what)
    return sized(seq * times, what, size)


def joined(left: Any, right: Any, what: str) -> Any:
    """`left + right` for two strings, lists or tuples, checked before it is built."""
    size = size_of(left, what) + size_of(right, what)
    check(size, what)
    return sized(left + right, what, size)


def sequence_sum(items: list[Any], start: list[Any] | tuple[Any, ...]) -> Any:
    """`sum(items, start)` for lists or tuples, in one pass: Python's own sum copies the
    growing result for every item, which takes time in the square of its length."""
    kind = list if isinstance(start, list) else tuple
    size = size_of(start, "sum")
    for item in items:
        if not isinstance(item, kind):
            raise TypeError(
                f'can only concatenate {kind.__name__} (not "{type(item).__name__}") '
                f"to {kind.__name__}"
            )
        size = size + size_of(item, "sum")
        check(size, "sum")
    return sized(kind(chain(start, *items)), "sum", size)
