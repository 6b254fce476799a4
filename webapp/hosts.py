"""On a sending domain's tracking host the app is its tracking URLs and nothing else.

`t.punthelder-seo.nl` points at this app so that the pixel, tracked links and unsubscribe
URLs of that domain's mail carry the sender's own name. Everything else (the dashboard,
the login, the API, the health check, the dashboard's scripts) answers 404 there, before
any other check runs: no redirect to a login, no CSRF refusal, no session (the tracking
blueprint's session interface gives every request on such a host a null one), so no
cookie is ever set under a sender's domain.

The host is the request's Host header as the reverse proxy passed it on (README,
"Production"); X-Forwarded-Host is not read.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, render_template, request

from webapp.services import tracking
from webapp.web.tracking.pixel import TRACKING_HEADERS

# Static files the unsubscribe page loads (templates/tracking/_layout.html).
TRACKING_STATIC_FILES = frozenset({"public.css"})


def tracking_routes_only() -> Any:
    """Before every request: on a tracking host, anything but a tracking URL is a 404."""
    if not tracking.is_tracking_host(request.host):
        return None
    if "tracking" in request.blueprints:
        return None
    if request.endpoint == "static" and _static_file() in TRACKING_STATIC_FILES:
        return None
    response = Response(render_template("tracking/error.html", status=404), status=404)
    response.headers["Cache-Control"] = "no-store"
    for name, value in TRACKING_HEADERS:
        response.headers[name] = value
    return response


def _static_file() -> str:
    return str((request.view_args or {}).get("filename", ""))


def init_app(app: Flask) -> None:
    # Registered before CSRF and login checks, so that they never answer on such a host.
    app.before_request(tracking_routes_only)
