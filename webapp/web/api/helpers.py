"""Request parsing shared by the API views."""

from __future__ import annotations

from typing import Any

from flask import request

from webapp.errors import ApiError


def json_body() -> dict[str, Any]:
    """The request's JSON object, or a 400 / 422 that says why not."""
    if not request.is_json:
        raise ApiError(400, "send a JSON object with Content-Type: application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body
