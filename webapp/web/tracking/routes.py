"""Open pixel, tracked links and unsubscribe: always a fast, small, cookie-free answer."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, redirect, render_template, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from webapp.errors import service_status
from webapp.extensions import db
from webapp.services import tracking
from webapp.services.errors import ServiceError
from webapp.web.tracking.blueprint import bp
from webapp.web.tracking.pixel import (
    MAX_BODY_BYTES,
    PIXEL_GIF,
    TRACKING_HEADERS,
    client_ip,
    read_token,
    record,
    record_open,
    rollback,
)

OTHER_METHODS = ["POST", "PUT", "PATCH", "DELETE"]


@bp.before_request
def _small_requests_only() -> None:
    request.max_content_length = MAX_BODY_BYTES
    if (request.content_length or 0) > MAX_BODY_BYTES:
        abort(413)


@bp.after_request
def _without_cookies(response: Response) -> Response:
    response.headers.remove("Set-Cookie")
    for name, value in TRACKING_HEADERS:
        response.headers[name] = value
    if response.mimetype == "text/html":  # pages speak the reader's language
        response.vary.add("Accept-Language")
    return response


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    status = error.code or 500
    headers = {}
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        headers["Allow"] = ", ".join(error.valid_methods)
    return render_template("tracking/error.html", status=status), status, headers


@bp.errorhandler(ServiceError)
def _refused(error: ServiceError) -> Any:
    rollback()
    status = service_status(error)
    return render_template("tracking/error.html", status=status), status


@bp.errorhandler(Exception)
def _unexpected(error: Exception) -> Any:
    current_app.logger.exception("tracking: %s %s failed", request.method, request.path)
    rollback()
    return render_template("tracking/error.html", status=500), 500


def _client() -> tuple[str | None, str | None]:
    """(user agent, client IP) of the request."""
    ip = client_ip(request.remote_addr, request.headers.get("X-Forwarded-For"))
    return request.headers.get("User-Agent"), ip


def _gif() -> Response:
    response = Response(PIXEL_GIF, mimetype="image/gif")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/t/o/", defaults={"token": ""})
@bp.get("/t/o/<path:token>")
def pixel(token: str) -> Response:
    """Whatever happens, the GIF: a broken pixel would show in the reader's mail.

    `pixel.OpenPixel` answers these before Flask does; this route is the same answer for
    what reaches Flask all the same (an app without that middleware, say)."""
    if request.method != "HEAD":  # a probe, not a reader loading the image
        record_open(
            token,
            request.headers.get("User-Agent"),
            request.remote_addr,
            request.headers.get("X-Forwarded-For"),
            request.host,
        )
    return _gif()


@bp.get("/t/c/<path:token>")
def click(token: str) -> Any:
    """Redirect to the link signed into the token; record the click if the database lets us."""
    link = read_token(tracking.read_click_token, token, request.host)
    if link is None:
        abort(404)
    message_id, url = link
    if request.method != "HEAD":  # a link checker's probe is not a click
        try:
            user_agent, ip = _client()
            record(tracking.click_hit(message_id, url, user_agent, ip))
        except Exception:
            current_app.logger.exception("tracking: click not recorded")
            rollback()
    response = redirect(url, 302)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/u/<path:token>")
def unsubscribe_page(token: str) -> Any:
    """The page with one button; reading it changes nothing (link scanners GET it too)."""
    message_id = read_token(tracking.read_unsubscribe_token, token, request.host) or abort(404)
    done = tracking.is_unsubscribed(message_id)
    return _page("tracking/unsubscribe.html", done=done)


@bp.post("/u/<path:token>")
def unsubscribe(token: str) -> Any:
    """The button, or an RFC 8058 one-click POST: the signed token is the proof of intent."""
    message_id = read_token(tracking.read_unsubscribe_token, token, request.host) or abort(404)
    result = tracking.unsubscribe(message_id)
    db.session.commit()
    if not result.found:
        current_app.logger.warning("tracking: unsubscribe for a message that is gone")
    return _page("tracking/unsubscribe.html", done=True)


@bp.route("/t/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/u/", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], defaults={"rest": ""})
@bp.route("/u/<path:rest>", methods=["PUT", "PATCH", "DELETE"])
def elsewhere(rest: str) -> Any:
    """Keeps every /t/ and /u/ answer on this blueprint: same headers, no session."""
    if request.method != "GET" and rest:
        if request.path.startswith("/u/"):
            abort(405, valid_methods=["GET", "HEAD", "POST", "OPTIONS"])
        if rest.startswith(("o/", "c/")):
            abort(405, valid_methods=["GET", "HEAD", "OPTIONS"])
    abort(404)


def _page(template: str, **context: Any) -> Response:
    response = Response(render_template(template, **context))
    response.headers["Cache-Control"] = "no-store"
    return response
