"""Filters and globals of the mail sandbox that check sizes, time and loop turns.

Filters whose result can outgrow their input are replaced by versions that check the
size before building; every filter looks at the deadline first and sizes its result
(see limits.py).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from jinja2 import Environment, nodes, pass_environment, pass_eval_context
from jinja2.filters import do_center, do_indent, do_join, do_replace, do_wordwrap, make_attrgetter

from webapp.formats import thousands
from webapp.services.mail.limits import (
    MAX_LIST_ITEMS,
    MAX_RANGE,
    MAX_WORDS_FILTER_CHARS,
    LimitExceeded,
    Size,
    check,
    current_budget,
    sequence_sum,
    sized,
)


def check_size(chars: int, what: str) -> None:
    check(Size(0, chars), what)


def limited(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that checks the deadline before and the size of its result after.

    Filters whose result can outgrow their input (join, replace, center, indent, wordwrap,
    sum) are replaced by versions that check before building; an iterator result (map,
    select, unique, ...) counts its items as they are handed out.
    """

    # Read only when a result is refused, in the reader's language then.
    what = _l("the filter %(name)s", name=repr(name))

    @functools.wraps(func)  # keeps jinja_pass_arg
    def filter_(*args: Any, **kwargs: Any) -> Any:
        current_budget().check()
        return sized(func(*args, **kwargs), what)

    return filter_


def loop_guard(iterable: Iterable[Any]) -> Iterator[Any]:
    budget = current_budget()
    for item in iterable:
        budget.tick()
        yield item


def safe_range(*args: int) -> range:
    numbers = range(*args)
    if len(numbers) > MAX_RANGE:
        raise LimitExceeded(
            _(
                "range() of %(count)s numbers; the limit is %(max)s",
                count=thousands(len(numbers)),
                max=thousands(MAX_RANGE),
            )
        )
    return numbers


@pass_eval_context
def _checked_replace(
    eval_ctx: nodes.EvalContext, s: str, old: str, new: str, count: int | None = None
) -> str:
    occurrences = str(s).count(str(old)) if old else len(str(s)) + 1
    if count is not None:
        occurrences = min(occurrences, max(count, 0))
    check_size(len(str(s)) + occurrences * max(len(str(new)) - len(str(old)), 0), "replace")
    return do_replace(eval_ctx, s, old, new, count)


@pass_eval_context
def _checked_join(
    eval_ctx: nodes.EvalContext, value: Iterable[Any], d: str = "", attribute: Any = None
) -> str:
    items = list(value)
    check_size(sum(len(str(item)) for item in items) + len(str(d)) * max(len(items) - 1, 0), "join")
    joined: str = do_join(eval_ctx, items, d, attribute)
    return joined


@pass_environment
def _checked_wordwrap(
    environment: Environment, s: str, width: int = 79, *args: Any, **kwargs: Any
) -> str:
    # textwrap is slow per line it makes: bound the lines, not just the characters.
    if len(str(s)) / max(int(width), 1) > MAX_LIST_ITEMS:
        raise LimitExceeded(
            _("wordwrap would make more than %(max)s lines", max=thousands(MAX_LIST_ITEMS))
        )
    return do_wordwrap(environment, s, width, *args, **kwargs)


@pass_environment
def _checked_sum(
    environment: Environment, iterable: Iterable[Any], attribute: Any = None, start: Any = 0
) -> Any:
    if attribute is not None:
        iterable = map(make_attrgetter(environment, attribute), iterable)
    items = list(iterable)
    if isinstance(start, list | tuple):
        return sequence_sum(items, start)
    return sum(items, start)


def word_by_word(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that walks its text word by word in Python: only so much text at once."""

    @functools.wraps(func)  # keeps jinja_pass_arg
    def filter_(*args: Any, **kwargs: Any) -> Any:
        # The text is the first argument after the one Jinja passes, if it passes one.
        text = args[1] if getattr(func, "jinja_pass_arg", None) else args[0]
        if len(str(text)) > MAX_WORDS_FILTER_CHARS:
            raise LimitExceeded(
                _(
                    "%(name)s takes at most %(max)s characters",
                    name=name,
                    max=thousands(MAX_WORDS_FILTER_CHARS),
                )
            )
        return func(*args, **kwargs)

    return filter_


def _checked_center(value: str, width: int = 80) -> str:
    check_size(int(width), "center")
    return do_center(value, width)


def _checked_indent(s: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    lines = str(s).count("\n") + 1
    check_size(
        len(str(s)) + lines * (int(width) if isinstance(width, int) else len(width)), "indent"
    )
    return do_indent(s, width, first, blank)


# Filters replaced by versions that check before they build.
CHECKED_FILTERS: dict[str, Callable[..., Any]] = {
    "replace": _checked_replace,
    "join": _checked_join,
    "center": _checked_center,
    "indent": _checked_indent,
    "wordwrap": _checked_wordwrap,
    "sum": _checked_sum,
}
# Filters that walk their text word by word in Python.
WORD_BY_WORD = ("title", "wordwrap", "urlize")
