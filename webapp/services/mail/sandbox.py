"""The Jinja sandbox mail templates run in: no loader, few filters, hard limits.

Template text is written by users and lead values come from imported spreadsheets, so
neither is trusted. Besides Jinja's own sandbox (no underscore attributes, no unsafe
callables), this one removes the globals and filters that reach outside or amplify
(`attr`, `format`, `lipsum`, `cycler`, ...), keeps lists immutable, refuses
`include` / `import` / `extends` and switching autoescape off, and bounds every render:
the size of every value it builds is checked (before building, where the inputs tell;
see limits.py), every loop draws on an iteration budget and every call and attribute
look-up checks a deadline (limits.py, checked_filters.py). Nothing is killed mid-render:
the render stops itself by raising.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from flask_babel import gettext as _
from jinja2 import StrictUndefined, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError, TemplateSyntaxError, UndefinedError
from jinja2.filters import FILTERS as DEFAULT_FILTERS
from jinja2.sandbox import ImmutableSandboxedEnvironment

from webapp.formats import thousands
from webapp.services.mail.checked_filters import (
    CHECKED_FILTERS,
    WORD_BY_WORD,
    check_size,
    limited,
    loop_guard,
    safe_range,
    word_by_word,
)
from webapp.services.mail.limits import (
    MAX_POWER_BITS,
    MAX_SOURCE_CHARS,
    LimitExceeded,
    OutputBuffer,
    current_budget,
    joined,
    repeated,
    sized,
)
from webapp.services.mail.spintax import SpintaxError, to_jinja

# Names the mail, not the lead, provides.
BUILTIN_NAMES = frozenset({"sender", "unsubscribe_url", "tracking", "range"})
# Names Jinja provides inside templates on its own.
JINJA_LOCALS = frozenset({"loop", "varargs", "kwargs", "caller"})
# Globals of plain Jinja or Flask templates that mail templates do not have.
UNAVAILABLE_NAMES = frozenset(
    {"self", "lipsum", "cycler", "joiner", "namespace", "dict", "config", "request",
     "session", "g", "url_for", "get_flashed_messages"}
)  # fmt: skip
SAFE_FILTERS = frozenset(
    {"abs", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
     "filesizeformat", "first", "float", "groupby", "indent", "int", "items", "join", "last",
     "length", "list", "lower", "map", "max", "min", "reject", "rejectattr", "replace",
     "reverse", "round", "select", "selectattr", "sort", "string", "striptags", "sum", "title",
     "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount", "wordwrap"}
)  # fmt: skip
# Methods of strings a template may call; the rest can amplify (center, zfill, join, ...).
SAFE_STR_METHODS = frozenset(
    {"capitalize", "casefold", "count", "endswith", "find", "index", "isalnum", "isalpha",
     "isdigit", "islower", "isnumeric", "isspace", "istitle", "isupper", "lower", "lstrip",
     "partition", "removeprefix", "removesuffix", "rfind", "rindex", "rpartition", "rsplit",
     "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper"}
)  # fmt: skip
FORBIDDEN_TAGS: dict[type[nodes.Node], str] = {
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "import",
    nodes.Extends: "extends",
    nodes.EvalContextModifier: "autoescape",
    nodes.ScopedEvalContextModifier: "autoescape",
}
_GUARD = "_loop_guard"


class TemplateRefused(TemplateSyntaxError):
    """Template text that parses but is not allowed in a mail (a tag, name or filter)."""


class MissingVariable(UndefinedError):
    """A top-level variable the context does not have (or has empty)."""

    def __init__(self, message: str, name: str) -> None:
        super().__init__(message)
        self.name = name


class MailUndefined(StrictUndefined):
    """Strict: any use of an undefined value but a truth test raises, naming the variable."""

    __slots__ = ()

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> Any:
        from jinja2.utils import missing

        if self._undefined_obj is missing and self._undefined_hint is None:
            raise MissingVariable(
                _("%(name)s is missing", name=self._undefined_name), str(self._undefined_name)
            )
        return super()._fail_with_undefined_error(*args, **kwargs)

    __iter__ = __str__ = __len__ = _fail_with_undefined_error
    __eq__ = __ne__ = __hash__ = __contains__ = _fail_with_undefined_error

    def __bool__(self) -> bool:  # type: ignore[override]  # falsy where StrictUndefined raises
        # `{% if first_name %}...{% else %}...{% endif %}` writes no blank: let it branch.
        return False

    __add__ = __radd__ = __mul__ = __rmul__ = __getitem__ = _fail_with_undefined_error
    __call__ = __getattr__ = _fail_with_undefined_error


class _MailCodeGenerator(CodeGenerator):
    """Generated code that checks what `~` and list, tuple and dict literals build."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        # `a ~ b` is no operator the sandbox intercepts: check what it built.
        self.write("environment.checked_concat(")
        super().visit_Concat(node, frame)
        self.write(")")

    def buffer(self, frame: Frame) -> None:
        # Macros and blocks collect their output in a list before joining it: count it there.
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.output_buffer()")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self.write("environment.sized(")
        super().visit_List(node, frame)
        self.write(", 'a list')")

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx != "load":  # `{% for a, b in ... %}` assigns to a tuple: no value there
            super().visit_Tuple(node, frame)
            return
        self.write("environment.sized(")
        super().visit_Tuple(node, frame)
        self.write(", 'a list')")

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self.write("environment.sized(")
        super().visit_Dict(node, frame)
        self.write(", 'a dict')")

    def visit_Const(self, node: nodes.Const, frame: Frame) -> None:
        # Jinja folds a literal of constants (`[1, 2]`) into one constant.
        if isinstance(node.value, list | tuple | dict):
            self.write("environment.sized(")
            super().visit_Const(node, frame)
            self.write(", 'a list')")
        else:
            super().visit_Const(node, frame)


class MailSandbox(ImmutableSandboxedEnvironment):
    """The environment for one kind of part: HTML (autoescaped) or plain text."""

    intercepted_binops = frozenset({"*", "**", "%", "+"})
    code_generator_class = _MailCodeGenerator

    def __init__(self, *, html: bool) -> None:
        super().__init__(
            loader=None,
            autoescape=html,
            undefined=MailUndefined,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        self.globals.clear()
        self.globals["range"] = safe_range
        self.filters = {name: self.filters[name] for name in SAFE_FILTERS}
        self.filters.update(CHECKED_FILTERS)
        for name in WORD_BY_WORD:
            self.filters[name] = word_by_word(name, self.filters[name])
        self.filters = {name: limited(name, func) for name, func in self.filters.items()}
        self.filters[_GUARD] = loop_guard

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if isinstance(obj, str):
            return attr in SAFE_STR_METHODS
        if isinstance(obj, int | float | complex):
            return attr in ("real", "imag")
        return super().is_safe_attribute(obj, attr, value)

    def wrap_str_format(self, value: Any) -> None:
        # str.format and format_map are refused outright (is_safe_attribute), not wrapped.
        return None

    def getattr(self, obj: Any, attribute: str) -> Any:
        current_budget().check()
        return sized(super().getattr(obj, attribute), "a look-up")

    def getitem(self, obj: Any, argument: Any) -> Any:
        current_budget().check()
        return sized(super().getitem(obj, argument), "a look-up")

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        current_budget().check()
        return sized(super().call(__context, __obj, *args, **kwargs), "a call")

    def sized(self, value: Any, what: str) -> Any:
        """A value the template wrote as a literal, if it is within the limits."""
        return sized(value, what)

    def output_buffer(self) -> OutputBuffer:
        return OutputBuffer()

    def checked_concat(self, value: str) -> str:
        check_size(len(value), "joining strings with ~")
        return value

    def concat(self, parts: Iterable[str]) -> str:
        """The output of a macro, `{% set %}` or `{% filter %}` block, checked before joining."""
        chunks = list(parts)
        check_size(sum(len(chunk) for chunk in chunks), "a block of output")
        return "".join(chunks)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        current_budget().check()
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0:
            if max(abs(left).bit_length(), 1) * right > MAX_POWER_BITS:
                raise LimitExceeded(
                    _("%(left)s ** %(right)s is too large a number", left=left, right=right)
                )
        elif operator == "*":
            numbers = isinstance(left, int) and isinstance(right, int)
            if numbers and left.bit_length() + right.bit_length() > MAX_POWER_BITS:
                raise LimitExceeded(_("multiplying makes too large a number"))
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    kind = "a string" if isinstance(seq, str) else "a list"
                    return repeated(seq, times, f"repeating {kind}")
        elif operator == "%" and isinstance(left, str):
            raise SecurityError(
                _(
                    "formatting strings with %(operator)s is not allowed in mail templates",
                    operator="%",
                )
            )
        elif operator == "+" and isinstance(left, str) and isinstance(right, str):
            return joined(left, right, "joining strings")
        elif operator == "+" and isinstance(left, list | tuple) and isinstance(right, list | tuple):
            return joined(left, right, "joining lists")
        return super().call_binop(context, operator, left, right)

    def prepare(self, source: str) -> nodes.Template:
        """Parse and check a part's text; loops are wrapped in the iteration guard."""
        if len(source) > MAX_SOURCE_CHARS:
            raise TemplateRefused(
                _(
                    "the text is %(count)s characters; the limit is %(max)s",
                    count=thousands(len(source)),
                    max=thousands(MAX_SOURCE_CHARS),
                ),
                1,
            )
        try:
            source = to_jinja(source)
        except SpintaxError as error:
            raise TemplateRefused(str(error), error.line) from None
        tree = self.parse(source)
        # One walk of the tree, read by every check below: a walk per check made a 64 KB
        # part with thousands of nodes take seconds to compile.
        every = list(tree.find_all(nodes.Node))
        for tag, word in FORBIDDEN_TAGS.items():
            for node in _of(every, tag):
                raise TemplateRefused(
                    _("%(tag)s is not allowed in mail templates", tag="{% " + word + " %}"),
                    node.lineno,
                )
        for name in _of(every, nodes.Name):
            if name.ctx == "load" and name.name in UNAVAILABLE_NAMES:
                raise TemplateRefused(
                    _("%(name)s is not available in mail templates", name=name.name),
                    name.lineno,
                )
        for node in _of(every, (nodes.Getattr, nodes.Getitem)):
            assert isinstance(node, nodes.Getattr | nodes.Getitem)
            attr = node.attr if isinstance(node, nodes.Getattr) else _constant(node.arg)
            if isinstance(attr, str) and attr.startswith("_"):
                raise TemplateRefused(
                    _("attributes starting with _ are not allowed (%(name)s)", name=attr),
                    node.lineno,
                )
        for node in _of(every, (nodes.Filter, nodes.Test)):
            if isinstance(node, nodes.Filter) and node.name not in self.filters:
                if node.name in DEFAULT_FILTERS:
                    refusal = _("the filter %(name)s is not allowed", name=repr(node.name))
                else:
                    refusal = _("the filter %(name)s does not exist", name=repr(node.name))
                raise TemplateRefused(refusal, node.lineno)
        for loop in _of(every, nodes.For):
            loop.iter = nodes.Filter(loop.iter, _GUARD, [], [], None, None, lineno=loop.lineno)
        return tree


def _of(every: list[nodes.Node], kind: Any) -> Iterator[Any]:
    """The nodes of `every` of the kind (a node class or a tuple of them), in order."""
    return (node for node in every if isinstance(node, kind))


def _constant(node: nodes.Node) -> object:
    return node.value if isinstance(node, nodes.Const) else None


HTML_SANDBOX = MailSandbox(html=True)
TEXT_SANDBOX = MailSandbox(html=False)
