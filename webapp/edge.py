"""Input no view should ever meet, refused once for every request before any view runs.

PostgreSQL cannot store a NUL byte and UTF-8 cannot carry a lone surrogate: either one
in a path, a query string, a form or a JSON body would surface as a database or encoding
error deep inside a view. JSON nested past any sensible depth would exhaust the parser's
recursion. Each is answered here with 400 (malformed) or 422 (the field that is wrong).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Flask, abort, request
from flask.json.provider import DefaultJSONProvider
from flask_babel import gettext as _
from werkzeug.datastructures import MultiDict

from webapp.services.errors import InvalidInput
from webapp.services.inputs import text_problem

# Deeper than anything the API takes (an audience inside a campaign is three levels).
MAX_JSON_DEPTH = 32
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class JsonTooDeep(ValueError):
    """JSON nested deeper than MAX_JSON_DEPTH."""


class EdgeJSONProvider(DefaultJSONProvider):
    """Flask's JSON, except that hostile nesting is a parse error rather than a crash."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            value = json.loads(s, **kwargs)
        except RecursionError:
            raise JsonTooDeep("nested too deeply") from None
        if _depth_exceeds(value, MAX_JSON_DEPTH):
            raise JsonTooDeep("nested too deeply")
        return value


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether containers in `value` nest deeper than `limit` (iteratively: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def json_text_problems(value: Any, path: str = "") -> dict[str, str]:
    """Each place in parsed JSON whose key or text cannot be stored, with the reason."""
    problems: dict[str, str] = {}
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            if (reason := text_problem(item)) is not None:
                problems[where or "body"] = reason
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{where}.{key}" if where else str(key)
                if (reason := text_problem(str(key))) is not None:
                    problems[_printable(name)] = _("field name: %(reason)s", reason=reason)
                    continue
                stack.append((child, name))
        elif isinstance(item, list):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
    return problems


def _printable(name: str) -> str:
    """A field name safe to echo back in an error (no NUL, no surrogate)."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _field_problems(values: MultiDict[str, str]) -> dict[str, str]:
    problems: dict[str, str] = {}
    for key, value in values.items(multi=True):
        if (reason := text_problem(key)) is not None:
            problems[_printable(key)] = _("field name: %(reason)s", reason=reason)
        elif (reason := text_problem(value)) is not None:
            problems[key] = reason
    return problems


def reject_unusable_input() -> None:
    """Before every request: a path, query or form that no view could use is refused."""
    if text_problem(request.path) is not None:
        abort(404)  # nothing can be named that way
    problems = _field_problems(request.args)
    if request.method in BODY_METHODS and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        problems.update(_field_problems(request.form))
    if problems:
        raise InvalidInput(problems, _("the request contains text that cannot be used"))


def init_app(app: Flask) -> None:
    app.json = EdgeJSONProvider(app)
    app.before_request(reject_unusable_input)
