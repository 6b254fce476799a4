"""On a sending domain's tracking host the app is its tracking URLs and nothing else.

`t.punthelder-seo.nl` points at this app so that the pixel, tracked links and unsubscribe
URLs of that domain's mail carry the sender's own name. Everything else (the dashboard,
the login, the API, the health check, the dashboard's scripts) answers 404 there, before
any other check runs: no redirect to a login, no CSRF refusal, no session (the tracking
blueprint's session interface gives every request on such a host a null one), so no
cookie is ever set under a sender's domain.

The host is the request's Host header exactly as the reverse proxy passed it on (README,
"Production"), not Werkzeug's reading of it; X-Forwarded-Host is not read. A Host that is
no plain host name or address (an empty or out-of-range port, user info, brackets around
a name, an empty label, spaces, two Host headers) is answered 400 before anything else,
as RFC 9112 (section 3.2) asks: plain text, no session, nothing that needs a URL built,
since Werkzeug can route no URL for some of them. One that only resembles a tracking
host is that host's all the same (`tracking.normalize_host`), never the dashboard's.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, render_template, request
from flask.globals import request_ctx
from flask_babel import gettext as _

from webapp.services import tracking
from webapp.web.tracking.blueprint import malformed_host, raw_host
from webapp.web.tracking.pixel import TRACKING_HEADERS

# Static files the unsubscribe page loads (templates/tracking/_layout.html).
TRACKING_STATIC_FILES = frozenset({"public.css"})


def refuse_malformed_host() -> Any:
    """Before every request, first: a Host that names no host is a plain 400."""
    # No URL adapter: Werkzeug could not bind the Host (an unusable name, an untrusted
    # one); every page would fail building its links.
    if not malformed_host(request) and request_ctx.url_adapter is not None:
        return None
    return _without_cookies(
        Response(
            _("Bad request: the Host header names no valid host."),
            status=400,
            mimetype="text/plain",
        )
    )


def tracking_routes_only() -> Any:
    """Before every request: on a tracking host, anything but a tracking URL is a 404."""
    if not tracking.is_tracking_host(raw_host(request)):
        return None
    if "tracking" in request.blueprints:
        return None
    if request.endpoint == "static" and _static_file() in TRACKING_STATIC_FILES:
        return None
    return _without_cookies(
        Response(render_template("tracking/error.html", status=404), status=404)
    )


def _without_cookies(response: Response) -> Response:
    """The answer as the tracking URLs give theirs: never cached, no referrer, not indexed."""
    response.headers["Cache-Control"] = "no-store"
    for name, value in TRACKING_HEADERS:
        response.headers[name] = value
    return response


def _static_file() -> str:
    return str((request.view_args or {}).get("filename", ""))


def init_app(app: Flask) -> None:
    # Registered before every other check (the app calls this first), so that none of
    # them answers on a malformed Host or on a tracking host.
    app.before_request(refuse_malformed_host)
    app.before_request(tracking_routes_only)
