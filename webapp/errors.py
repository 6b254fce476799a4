"""Error answers: JSON for the API, a fragment for htmx, a page otherwise."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions

from webapp import htmx
from webapp.extensions import db
from webapp.htmx import wants_fragment
from webapp.security import is_api_request
from webapp.services.errors import Conflict, InvalidInput, NotFound, ServiceError

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "too_many_requests",
    500: "server_error",
}
# The status each kind of service refusal answers with.
SERVICE_STATUSES: tuple[tuple[type[ServiceError], int], ...] = (
    (InvalidInput, 422),
    (Conflict, 409),
    (NotFound, 404),
)


class ApiError(Exception):
    """Raised by API views: becomes `{"error": {code, message, fields}}` with `status`."""

    def __init__(
        self, status: int, message: str, fields: dict[str, str] | None = None, code: str = ""
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields or {}
        self.code = code or CODES.get(status, "error")


def api_error_response(
    status: int, message: str, fields: dict[str, str] | None = None, code: str = ""
) -> tuple[Response, int]:
    body: dict[str, dict[str, object]] = {
        "error": {"code": code or CODES.get(status, "error"), "message": message}
    }
    body["error"]["fields"] = fields or {}
    return jsonify(body), status


# Everything under this path is the API's, a URL no route matches included.
API_ROOT = "/api"


def _is_api() -> bool:
    """An API request, or one under /api/ that no API route matched (a wrong URL or method):
    it answers in JSON too, as every API error does."""
    path = request.path
    return is_api_request() or path == API_ROOT or path.startswith(f"{API_ROOT}/")


def _allow(error: HTTPException) -> dict[str, str]:
    """The methods a URL does take, on a 405 (RFC 9110 asks for them)."""
    allowed = dict(error.get_headers()).get("Allow")
    return {"Allow": allowed} if allowed else {}


def _render(status: int, title: str, message: str) -> tuple[str, int, dict[str, str]]:
    headers: dict[str, str] = {}
    if wants_fragment():
        # Errors from htmx requests land in the flash area instead of the swap target.
        headers = {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
        return render_template("errors/_error.html", title=title, message=message), status, headers
    return (
        render_template("errors/page.html", status=status, title=title, message=message),
        status,
        headers,
    )


# What an error page says, in the reader's language, when the code raised no words of its own.
ERROR_PAGES = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    401: (_l("Log in"), _l("Log in to continue.")),
    403: (_l("Not allowed"), _l("Your role may not do this.")),
    404: (_l("Not found"), _l("This page does not exist (any more).")),
    405: (_l("Not allowed"), _l("This page cannot be used this way.")),
    409: (_l("Conflict"), _l("This no longer fits the current state; reload and try again.")),
    413: (_l("Too large"), _l("The upload is larger than allowed.")),
    422: (_l("Cannot be used"), _l("Some input cannot be used.")),
    429: (_l("Too many attempts"), _l("Wait a moment and try again.")),
    500: (_l("Something went wrong"), _l("The error is logged. Try again in a moment.")),
    503: (_l("Unavailable"), _l("The service is briefly unavailable. Try again in a moment.")),
}


def error_texts(status: int, description: str | None = None) -> tuple[str, str]:
    """The title and message of an error page: ours for a code's default wording."""
    title, message = ERROR_PAGES.get(status, (_l("Error"), _l("Something went wrong.")))
    kind = default_exceptions.get(status)
    if description and description != (kind.description if kind else None):
        return str(title), description
    return str(title), str(message)


def handle_http_error(error: HTTPException) -> Any:
    # A view may have failed half-way through a flush; the error page itself reads the
    # session (the logged-in user in the layout), so it must start on a clean transaction.
    db.session.rollback()
    status = error.code or 500
    if _is_api():
        response = api_error_response(status, error.description or error.name)
        response[0].headers.update(_allow(error))
        if status == 401:
            response[0].headers["WWW-Authenticate"] = 'Bearer realm="api"'
        return response
    body, status, headers = _render(status, *error_texts(status, error.description))
    return body, status, {**headers, **_allow(error)}


def handle_csrf_error(error: CSRFError) -> Any:
    # Never under /api/: the API takes no cookies, and no URL there checks a CSRF token.
    return _render(
        400, _("Session expired"), _("The form was stale. Reload the page and try again.")
    )


def handle_api_error(error: ApiError) -> Any:
    return api_error_response(error.status, error.message, error.fields, error.code)


def service_status(error: ServiceError) -> int:
    """The HTTP status a service refusal answers with (400 for a kind without its own)."""
    return next((status for kind, status in SERVICE_STATUSES if isinstance(error, kind)), 400)


def handle_service_error(error: ServiceError) -> Any:
    """A refusal no view answered itself: undo what the request wrote, then say why."""
    # The service may have flushed half its work, and the session must serve the answer
    # (and the next request) on a clean transaction.
    db.session.rollback()
    status = service_status(error)
    if _is_api():
        return api_error_response(status, error.message, error.fields, error.code)
    return _render(status, error_texts(status)[0], str(error))


def handle_unexpected(error: Exception) -> Any:
    """Log the traceback; never show internals to the caller."""
    if current_app.testing:
        raise error
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return handle_http_error(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(ServiceError, handle_service_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)

    htmx.init_app(app)
