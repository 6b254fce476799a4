"""Request parsing shared by the API views."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_babel import gettext as _
from werkzeug.exceptions import BadRequest

from webapp.edge import MAX_JSON_DEPTH, json_text_problems
from webapp.errors import ApiError


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 / 422 that says why not."""
    if not request.is_json:
        raise ApiError(400, _("send a JSON object with Content-Type: application/json"))
    try:
        body = request.get_json()
    except BadRequest:
        raise ApiError(
            400,
            _(
                "the body is not valid JSON, or nested deeper than %(depth)s levels",
                depth=MAX_JSON_DEPTH,
            ),
        ) from None
    if not isinstance(body, dict):
        raise ApiError(400, _("the body must be a JSON object"))
    problems = json_text_problems(body)
    if problems:
        raise ApiError(422, _("the body contains text that cannot be used"), problems)
    return body
